import { fetchVoxels, type OsteonClient, type VolumeMeta } from './contract.ts';
import type { CaseImages, LoadedVolume } from '../state/images.svelte.ts';

async function load(client: OsteonClient, meta: VolumeMeta): Promise<LoadedVolume> {
  const data = await fetchVoxels(meta);
  return { dims: meta.dims, spacing: meta.spacing, origin: meta.origin, direction: meta.direction, channels: meta.channels, data };
}

/** CT and labels of a case, fetched through the contract; labels are optional. */
export async function loadCaseImages(client: OsteonClient, caseId: string): Promise<CaseImages> {
  const ct = await load(client, await client.call('volume.get', { caseId, kind: 'ct' }));
  let labels: LoadedVolume | null = null;
  try {
    labels = await load(client, await client.call('volume.get', { caseId, kind: 'labels' }));
  } catch (e) {
    if (!(typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'not-found')) throw e;
  }
  // A prediction attached for compare mode (case.attachPrediction); most cases have none.
  let prediction: LoadedVolume | null = null;
  try {
    if (labels) prediction = await load(client, await client.call('volume.get', { caseId, kind: 'prediction' }));
  } catch (e) {
    if (!(typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'not-found')) throw e;
  }
  return { caseId, ct, labels, prediction };
}
