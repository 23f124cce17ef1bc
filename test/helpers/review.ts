/**
 * `osteon eval` on two stored versions of a case, as a user would run it: version a's masks file
 * (one 0/1 channel per structure) becomes the ground-truth case's labels under a channel schema,
 * version b's masks become one NIfTI per structure in the prediction folder. Returns the CLI's
 * per-structure Dice and HD95 (null where eval prints NaN/Infinity as null).
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contract, createClient, memoryPair, runJob, serve, type OsteonClient } from '../../app/contract/index.ts';
import { createServices, type Services } from '../../app/services/services.ts';
import { repoRoot } from './env.ts';
import { writeVolume } from '../../app/imaging/io.ts';
import { readVersionMasks, versionMasksPath } from '../../app/store/versions.ts';
import { runCli } from './cli.ts';

export function evalVersions(project: string, caseId: string, a: number, b: number, dir: string, structures: Array<{ id: string; role: 'whole' | 'part' }>): Record<string, { dice: number | null; hd95: number | null }> {
  const gtDir = join(dir, 'gt', caseId), predDir = join(dir, 'pred', caseId);
  mkdirSync(gtDir, { recursive: true });
  mkdirSync(predDir, { recursive: true });
  copyFileSync(versionMasksPath(project, caseId, a), join(gtDir, 'labels.nii.gz'));
  copyFileSync(join(project, 'cases', caseId, 'ct.nii.gz'), join(gtDir, 'ct.nii.gz'));
  const schema = join(dir, 'schema.json');
  writeFileSync(schema, JSON.stringify({
    schema: 'osteon-labels/1', name: 'versions', structures: structures.map((s, i) => ({ id: s.id, name: s.id, colour: '#808080', role: s.role, source: { kind: 'channel', index: i } })),
  }));
  const v = readVersionMasks(project, caseId, b);
  v.info.structures.forEach((sid, c) => writeVolume(join(predDir, `${sid}.nii.gz`), { ...v.geometry, data: v.masks[c], channels: 1 }));
  const r = runCli(['eval', '--pred', join(dir, 'pred'), '--gt', join(dir, 'gt'), '--schema', schema, '--json']);
  if (r.code !== 0) throw new Error(`osteon eval failed (${r.code}): ${r.stderr}`);
  const ev = JSON.parse(r.stdout) as { layout: { ids: string[] }; cases: Array<{ metrics: Array<{ dice: number | null; hd95: number | null }> }> };
  return Object.fromEntries(ev.layout.ids.map((id, k) => [id, { dice: ev.cases[0].metrics[k].dice, hd95: ev.cases[0].metrics[k].hd95 }]));
}

/**
 * Real services behind an in-memory contract pair, with a new project holding the bundled
 * phantom cases (imported through case.import, as the UI does). The caller disposes `services`
 * and removes `tmp`.
 */
export async function phantomProject(prefix: string, name: string, cases: readonly string[]): Promise<{ tmp: string; services: Services; client: OsteonClient; project: string; ids: string[] }> {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  const ph = join(repoRoot, 'resources', 'sample', 'phantom');
  const services = createServices({ host: 'test', home: join(tmp, 'home'), volumeUrl: (c, k) => `/api/volume/${c}/${k}` });
  const [a, b] = memoryPair();
  const served = serve(contract, services.handlers, a, undefined);
  services.subscribe((n, payload) => served.emit(n, payload as never));
  const client = createClient(contract, b) as OsteonClient;
  const project = join(tmp, 'project');
  await client.call('project.create', { dir: project, name });
  const ids: string[] = [];
  for (const c of cases) {
    const s = await runJob(client, 'case.import', () => client.call('case.import', {
      ct: join(ph, c, 'ct.nii.gz'), labels: join(ph, c, 'labels.nii.gz'), schema: join(ph, 'schema.json'), name: c,
    }));
    ids.push(s.id);
  }
  return { tmp, services, client, project, ids };
}
