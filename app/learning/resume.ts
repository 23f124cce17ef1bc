/**
 * Rebuilds a run's cases from its folder (config.json + run.json) so training can continue from
 * the last checkpoint, or inference can use the stored normalisation and layout.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInput } from '../util/errors.ts';
import { writeJsonAtomic } from '../util/atomic.ts';
import { checkConfig, type TrainConfig } from './config.ts';
import { findCases, loadCase, resolveSchema } from './dataset.ts';
import { axialAxis, makeTrainingCase, sliceSlab, type TrainingCase } from './data/case.ts';
import { normalize } from './data/normalize.ts';

export function readRunConfig(runDir: string): TrainConfig {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) throw badInput(runDir, 'config.json', 'missing: not an Osteon run folder', 'not-found');
  let raw: unknown;
  try { raw = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw badInput(path, 'json', (e as Error).message); }
  try { return checkConfig(raw); } catch (e) { throw badInput(path, 'config', (e as Error).message); }
}

export function resumeRun(runDir: string, epochs?: number): { config: TrainConfig; train: TrainingCase[]; val: TrainingCase[] } {
  const config = readRunConfig(runDir);
  if (!existsSync(join(runDir, 'checkpoints', 'last.ckpt'))) throw badInput(runDir, 'checkpoints/last.ckpt', 'missing: nothing to resume from', 'not-found');
  const run = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as { data: string; schema: string };
  const { schema, path } = resolveSchema(run.data, run.schema);
  const byId = new Map<string, TrainingCase>();
  for (const f of findCases(run.data)) {
    const c = loadCase(f, schema, path);
    byId.set(c.id, makeTrainingCase(c.id, c.geometry, normalize(c.hu, config.normalization), c.labels, config.head.kind !== 'sigmoid'));
  }
  const pick = (id: string): TrainingCase => {
    const slab = /^(.*):slab(\d+)-(\d+)$/.exec(id);
    const base = byId.get(slab ? slab[1] : id);
    if (!base) throw badInput(join(runDir, 'config.json'), 'trainCases', `case "${id}" is no longer in ${run.data}`);
    if (!slab) return base;
    return sliceSlab(base, axialAxis(base.geometry), Number(slab[2]), Number(slab[3]));
  };
  if (epochs !== undefined && epochs !== config.epochs) {
    config.epochs = epochs;
    writeJsonAtomic(join(runDir, 'config.json'), config);
  }
  return { config, train: config.trainCases.map(pick), val: config.valCases.map(pick) };
}
