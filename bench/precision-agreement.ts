/**
 * fp32 against bf16 inference with a trained run (infer.ts `precision`): per structure the Dice
 * between the two masks, the voxels that differ, the largest and mean probability difference,
 * and, where the case has labels, each precision's Dice against them; the time of each pass.
 *
 *   node --import tsx bench/precision-agreement.ts --run RUN --data DIR [--schema FILE|preset]
 *     (every case of DIR, as `osteon train` reads it)
 *   node --import tsx bench/precision-agreement.ts --run RUN --ct FILE   (a CT without labels)
 */
import { pathToFileURL } from 'node:url';
import { readVolume } from '../app/imaging/io.ts';
import { geometryOf, type Geometry } from '../app/imaging/volume.ts';
import { initBackend } from '../app/learning/backend.ts';
import { findCases, loadCase, resolveSchema } from '../app/learning/dataset.ts';
import { loadModel, predictCt, releaseModel, type LoadedModel } from '../app/learning/infer.ts';
import type { InferencePrecision } from '../app/learning/native/infer-net.ts';

function dice(a: Uint8Array, b: Uint8Array): number {
  let ab = 0, sa = 0, sb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] & b[i]; sa += a[i]; sb += b[i]; }
  return sa + sb === 0 ? 1 : (2 * ab) / (sa + sb);
}

export interface Agreement {
  case: string; dims: number[];
  seconds: Record<InferencePrecision, number>;
  structures: Array<{ id: string; voxels: Record<InferencePrecision, number>; dice: number; differ: number; maxDp: number; meanDp: number; truthDice: Record<InferencePrecision, number> | null }>;
}

export async function agreement(model: LoadedModel, name: string, hu: ArrayLike<number> & { length: number }, geometry: Geometry, truth: Uint8Array[] | null): Promise<Agreement> {
  const run = async (precision: InferencePrecision) => {
    const t = performance.now();
    const p = await predictCt(model, hu, geometry, { postprocess: 'none', hierarchy: 'none', probabilities: true, precision });
    return { p, s: (performance.now() - t) / 1000 };
  };
  const f = await run('fp32');
  const b = await run('bf16');
  const count = (m: Uint8Array) => m.reduce((a, x) => a + x, 0);
  return {
    case: name, dims: [...geometry.dims], seconds: { fp32: f.s, bf16: b.s },
    structures: model.config.layout.ids.map((id, k) => {
      const mf = f.p.masks[k], mb = b.p.masks[k], pf = f.p.probs![k], pb = b.p.probs![k];
      let differ = 0, maxDp = 0, sumDp = 0;
      for (let i = 0; i < mf.length; i++) {
        differ += mf[i] !== mb[i] ? 1 : 0;
        const d = Math.abs(pf[i] - pb[i]);
        maxDp = Math.max(maxDp, d);
        sumDp += d;
      }
      return {
        id, voxels: { fp32: count(mf), bf16: count(mb) }, dice: dice(mf, mb), differ, maxDp, meanDp: sumDp / mf.length,
        truthDice: truth ? { fp32: dice(mf, truth[k]), bf16: dice(mb, truth[k]) } : null,
      };
    }),
  };
}

function print(a: Agreement): void {
  const n = a.dims.reduce((x, y) => x * y, 1);
  console.log(`${a.case} ${a.dims.join('×')} (${n} voxels): fp32 ${a.seconds.fp32.toFixed(2)} s, bf16 ${a.seconds.bf16.toFixed(2)} s`);
  console.log('structure     voxels fp32  voxels bf16  Dice(fp32,bf16)  voxels differ  max|Δp|   mean|Δp|  Dice vs truth fp32 / bf16');
  for (const s of a.structures) {
    console.log(`${s.id.padEnd(12)} ${String(s.voxels.fp32).padStart(12)} ${String(s.voxels.bf16).padStart(12)} ${s.dice.toFixed(5).padStart(16)} ${String(s.differ).padStart(14)}  ${s.maxDp.toExponential(2)}  ${s.meanDp.toExponential(2)}  ${s.truthDice ? `${s.truthDice.fp32.toFixed(4)} / ${s.truthDice.bf16.toFixed(4)}` : '-'}`);
  }
}

// Run directly only (the bench command imports every file of bench/ looking for suites).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const runDir = arg('--run');
  if (!runDir) throw new Error('usage: --run RUN (--data DIR [--schema S] | --ct FILE)');
  await initBackend();
  const model = loadModel(runDir);
  try {
    const ct = arg('--ct');
    if (ct) {
      const v = readVolume(ct);
      print(await agreement(model, ct, v.data, geometryOf(v), null));
    } else {
      const data = arg('--data')!;
      const { schema, path } = resolveSchema(data, arg('--schema'));
      for (const c of findCases(data)) {
        const l = loadCase(c, schema, path);
        const truth = model.config.layout.ids.map((id) => l.labels.masks[l.labels.schema.structures.findIndex((s) => s.id === id)]);
        print(await agreement(model, c.id, l.hu, l.geometry, truth));
      }
    }
  } finally {
    releaseModel(model);
  }
}
