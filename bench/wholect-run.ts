/**
 * One whole-CT inference in its own process, for the `wholect` suite (bench/wholect.ts) and for
 * `/usr/bin/time -v`: a synthetic int16 CT (default 512×512×300) through predictCt (HU
 * normalised per slab, windows streamed, thresholded masks kept; no post-processing) with the
 * reference 2D U-Net (filters 16-32-64-128, joint head with 3 parts, random weights). Prints one
 * JSON line: seconds of the prediction, the process's peak RSS (MiB), the backend rung.
 *
 *   node --import tsx bench/wholect-run.ts [--dims 512,512,300] [--batch 4] [--precision auto|fp32|bf16]
 */
import { pathToFileURL } from 'node:url';
import { initBackend } from '../app/learning/backend.ts';
import type { TrainConfig } from '../app/learning/config.ts';
import type { HeadConfig } from '../app/learning/heads.ts';
import { predictCt, type LoadedModel } from '../app/learning/infer.ts';
import { createParams, disposeParams, type UNetConfig } from '../app/learning/model/unet.ts';
import { nativeAccumulateActive } from '../app/learning/window-accumulate.ts';
import type { PrecisionChoice } from '../app/learning/native/infer-net.ts';
import { IDENTITY3, type Geometry } from '../app/imaging/volume.ts';

export interface WholeCtResult { seconds: number; maxRssMiB: number; rung: string; nativeAccumulate: boolean; dims: number[]; voxels: number[]; precision: string }

/** A CT-like int16 volume: air, an elliptic body of soft tissue, a bony ring and marrow inside. */
export function syntheticCt(dims: [number, number, number]): Int16Array {
  const [nx, ny, nz] = dims;
  const hu = new Int16Array(nx * ny * nz);
  let v = 0;
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++, v++) {
    const ex = (x - nx / 2) / (nx * 0.4), ey = (y - ny / 2) / (ny * 0.3);
    const r = Math.sqrt(ex * ex + ey * ey);
    const bx = (x - nx * 0.55) / (nx * 0.08), by = (y - ny / 2) / (ny * 0.08);
    const b = Math.sqrt(bx * bx + by * by) * (1 + 0.1 * Math.sin(z / 9));
    hu[v] = r > 1 ? -1000 : b < 0.6 ? 300 : b < 1 ? 1200 : 40 + ((x * 7 + y * 13 + z * 3) % 41) - 20;
  }
  return hu;
}

export async function runWholeCt(dims: [number, number, number], batchSize?: number, precision?: PrecisionChoice): Promise<WholeCtResult> {
  const backend = await initBackend();
  const rung = backend.attempts.find((a) => a.ok)?.candidate ?? backend.name;
  const model: UNetConfig = { spatialDims: 2, inChannels: 1, outChannels: 5, filters: [16, 32, 64, 128], normalization: 'none', seed: 0 };
  const head: HeadConfig = { kind: 'joint', parts: 3, posWeight: 3, a: 1, b: 1, c: 0 };
  const params = createParams(model);
  const config = {
    model, head, normalization: { windowHu: [-1000, 2000], mean: 0, std: 600 }, sampling: { context: 0 },
    layout: { ids: ['whole', 'p1', 'p2', 'p3'], hasWhole: true },
  } as unknown as TrainConfig;
  const loaded: LoadedModel = { runDir: '(bench)', config, params, checkpoint: '(random weights)', plan: null, calibration: null };
  const hu = syntheticCt(dims);
  const geometry: Geometry = { dims, spacing: [0.8, 0.8, 1.5], origin: [0, 0, 0], direction: [...IDENTITY3] };
  const t = performance.now();
  const pr = await predictCt(loaded, hu, geometry, { postprocess: 'none', hierarchy: 'none', precision, ...(batchSize ? { batchSize } : {}) });
  const seconds = (performance.now() - t) / 1000;
  const voxels = pr.masks.map((m) => { let on = 0; for (let i = 0; i < m.length; i++) on += m[i]; return on; });
  disposeParams(params);
  return { seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, rung, nativeAccumulate: nativeAccumulateActive(), dims, voxels, precision: pr.stats.precisionDetail };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const dims = (arg('--dims') ?? '512,512,300').split(',').map(Number) as [number, number, number];
  const batch = arg('--batch') ? Number(arg('--batch')) : undefined;
  console.log(JSON.stringify(await runWholeCt(dims, batch, arg('--precision') as PrecisionChoice | undefined)));
}
