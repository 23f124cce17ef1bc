// The child of kill-points.test.ts: sets up one fault family twice (identically), runs its work
// once counting file-system changes and once more taking the copies a kill -9 would leave at
// `points` seeded random counts (kill-points.ts), then prints one JSON line and exits, so its pid
// (in the temporaries' names) is dead when the parent checks the copies.
//   node --import tsx kill-child.ts FAMILY WORKDIR POINTS SEED
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeNifti } from '../../app/imaging/nifti.ts';
import { approveCase, attachPrediction, exportCase, importCase } from '../../app/store/cases.ts';
import { exportCaseAs } from '../../app/store/case-export.ts';
import { createProject } from '../../app/store/project.ts';
import { setReview } from '../../app/store/review.ts';
import { saveVersion } from '../../app/store/versions.ts';
import { validCt, validLabels } from './generate.ts';
import { Rng } from './fuzz.ts';
import { choosePoints, runWithKillPoints } from './kill-points.ts';

const [family, work, pointsArg, seedArg] = process.argv.slice(2);
const ctl = { signal: new AbortController().signal, progress: () => {} };

interface Family {
  watch: string[];
  work: () => Promise<unknown>;
  /** What the parent needs to check a copy (ids, names, files), as JSON. */
  info?: unknown;
}

/** Source images and a project with one imported case (save and export start from it). */
async function baseProject(dir: string, withCase: boolean) {
  const src = join(dir, 'src');
  mkdirSync(src, { recursive: true });
  const ct = join(src, 'ct.nii.gz'), labels = join(src, 'labels.nii.gz');
  writeNifti(ct, validCt());
  writeNifti(labels, validLabels());
  const p = createProject(join(dir, 'project'), 'kill points');
  const c = withCase ? await importCase(p, { ct, labels, name: 'base' }, ctl) : null;
  return { p, ct, labels, caseId: c?.id ?? null };
}

async function setup(dir: string): Promise<Family> {
  mkdirSync(dir, { recursive: true });
  switch (family) {
    case 'import': {
      const { p, ct, labels } = await baseProject(dir, false);
      return {
        watch: [p.dir],
        work: async () => {
          await importCase(p, { ct, labels, name: 'first' }, ctl);
          await importCase(p, { ct, name: 'ct only' }, ctl);
        },
      };
    }
    case 'save': {
      const { p, labels, caseId } = await baseProject(dir, true);
      const id = caseId!;
      const vol = validLabels();
      const geometry = { dims: vol.dims, spacing: vol.spacing, origin: vol.origin, direction: vol.direction };
      const masks = [1, 2].map((v) => Uint8Array.from(vol.data as Uint8Array, (x) => (x === v ? 1 : 0)));
      const structures = ['label_1', 'label_2'];
      return {
        watch: [p.dir],
        info: { caseId: id },
        work: async () => {
          approveCase(p, id, 'looks right');
          saveVersion(p.dir, id, { source: { kind: 'edit', of: null }, message: 'first edit', structures, masks: { kind: 'masks', geometry, data: masks } });
          setReview(p.dir, id, structures, { structure: 'label_1', state: 'accepted', comment: 'ok', reason: null });
          saveVersion(p.dir, id, { source: { kind: 'edit', of: 1 }, message: 'second edit', structures, masks: { kind: 'masks', geometry, data: masks.reverse() } });
          attachPrediction(p, id, labels);
        },
      };
    }
    case 'export': {
      const { p, caseId } = await baseProject(dir, true);
      const id = caseId!;
      const out = join(dir, 'exports');
      mkdirSync(out);
      return {
        watch: [p.dir, out],
        info: { caseId: id },
        work: async () => {
          await exportCase(p, id, join(out, 'plain'));
          exportCaseAs(p, { caseId: id, source: 'labels', format: 'seg-nrrd', out: join(out, 'labels.seg.nrrd') });
          exportCaseAs(p, { caseId: id, source: 'labels', format: 'nifti', out: join(out, 'masks') });
        },
      };
    }
    case 'train': {
      const { initBackend } = await import('../../app/learning/backend.ts');
      const { prepareRun } = await import('../../app/learning/run.ts');
      const { train } = await import('../../app/learning/train.ts');
      const { writePhantomSet } = await import('../../app/phantom/write.ts');
      await initBackend({ prefer: 'wasm' }); // tiny model: wasm, no GPU start-up
      const data = join(dir, 'data'), runDir = join(dir, 'run');
      writePhantomSet(data, { cases: 3, seed: 2, dims: [16, 16, 8], spacing: 3, noiseHu: 25 });
      const a = prepareRun({
        dataDir: data, runDir, head: 'joint', spatialDims: 2, filters: [4, 8], normalization: 'none', context: 0,
        epochs: 4, stepsPerEpoch: 2, batchSize: 2, learningRate: 1e-3, validateEvery: 1, earlyStoppingPatience: 3, seed: 3,
        posWeight: 'auto', lossWeights: { a: 1, b: 1, c: 0 }, split: { kind: 'cases', ids: ['case-002'] }, flipAxes: [],
      }, null);
      // The last epoch reported before each kill: what "at most one epoch lost" is measured against.
      const seen = { epoch: 0 };
      return {
        watch: [runDir],
        info: seen,
        work: () => train(a.config, a.train, a.val, { runDir, onEvent: (e) => { if (e.type === 'epoch') seen.epoch = e.epoch; } }),
      };
    }
    default:
      throw new Error(`unknown family ${family}`);
  }
}

const counted = await setup(join(work, 'count'));
const { total } = await runWithKillPoints(counted.watch, counted.work);
const points = choosePoints(total, Number(pointsArg), (() => { const r = new Rng(Number(seedArg)); return () => r.next(); })());
const run = await setup(join(work, 'run'));
const { total: total2, snapshots } = await runWithKillPoints(run.watch, run.work, points, join(work, 'snaps'), () => run.info);
process.stdout.write(JSON.stringify({ family, total, total2, points: points.length, snapshots, info: run.info }) + '\n');
process.exit(0);
