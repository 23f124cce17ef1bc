/**
 * What the labels of a study imply for training: structure sizes, overlaps, how the whole
 * relates to the union of its parts, which formulation fits (softmax / sigmoid / joint head),
 * and the loss weights that counter class imbalance.
 *
 * Pure functions on LabelSet masks (small set operations of our own; app/metrics is separate).
 * Empty cases: Dice of two empty masks is NaN; pos_weight of a channel with no positives is
 * Infinity (PyTorch would divide by zero), and 0 when it has no negatives.
 */
import { voxelCount } from '../imaging/volume.ts';
import type { PartOverlap } from './encode.ts';
import type { LabelSet } from './labelset.ts';
import { intersections, partIndices, wholeIndex } from './labelset.ts';
import type { Role } from './schema.ts';
import { countMask, posWeightRatio } from './pos-weight.ts';

export type Formulation = 'softmax' | 'sigmoid' | 'joint';

export interface StructureStats {
  id: string;
  name: string;
  role: Role;
  /** Class id in the integer class map (parts only), else null. */
  classId: number | null;
  voxels: number;
  volumeMl: number;
}

export interface WholeVsUnion {
  whole: string;
  wholeVoxels: number;
  unionVoxels: number;
  intersection: number;
  /** 2|W∩U| / (|W| + |U|); NaN when both are empty. */
  dice: number;
  wholeNotUnion: number;
  unionNotWhole: number;
  equal: boolean;
}

export interface Recommendation {
  formulation: Formulation;
  reason: string;
}

export interface ChannelWeight {
  id: string;
  positives: number;
  negatives: number;
  /** negatives / positives for BCEWithLogits(pos_weight); Infinity when there are no positives. */
  posWeight: number;
}

export interface ClassWeight {
  classId: number;
  id: string;
  voxels: number;
  frequency: number;
  weight: number;
}

export interface ClassWeights {
  method: 'median-frequency';
  classes: ClassWeight[];
}

export interface LabelAnalysis {
  schema: string;
  voxels: number;
  voxelMm3: number;
  structures: StructureStats[];
  /** overlap.voxels[a][b] = |A ∩ B| (diagonal: |A|), structures in schema order. */
  overlap: { ids: string[]; voxels: number[][] };
  partsDisjoint: boolean;
  partOverlaps: PartOverlap[];
  /** Voxels that belong to two or more parts. */
  multiPartVoxels: number;
  wholeVsUnion: WholeVsUnion | null;
  recommendation: Recommendation;
  /** One per multi-hot channel (every structure, schema order). */
  posWeight: ChannelWeight[];
  /** CE weights over background + parts; null when parts overlap (no class map exists). */
  classWeights: ClassWeights | null;
  weightingNote: string;
  warnings: string[];
}

export const WEIGHTING_NOTE =
  'Weights must shrink as a class gets commoner. Raw foreground counts do the opposite: used as ' +
  'weights they make the biggest structure (the whole bone) weigh most, so every channel is pulled ' +
  'towards predicting the whole. BCE pos_weight is a per-channel ratio, negatives/positives (how many ' +
  'background voxels each foreground voxel is up against), not a count; CE class weights are inverse ' +
  'frequency (here scaled so the median class weighs 1; PyTorch\'s weighted mean divides by the summed ' +
  'weights, so only their ratios matter).';

export function wholeVsUnion(set: LabelSet): WholeVsUnion | null {
  const w = wholeIndex(set);
  if (w < 0) return null;
  const parts = partIndices(set).map((i) => set.masks[i]);
  const W = set.masks[w];
  let wv = 0, uv = 0, inter = 0;
  for (let v = 0; v < W.length; v++) {
    let u = 0;
    for (const p of parts) u |= p[v];
    wv += W[v];
    uv += u;
    inter += W[v] & u;
  }
  return {
    whole: set.schema.structures[w].id,
    wholeVoxels: wv,
    unionVoxels: uv,
    intersection: inter,
    dice: wv + uv === 0 ? NaN : (2 * inter) / (wv + uv),
    wholeNotUnion: wv - inter,
    unionNotWhole: uv - inter,
    equal: wv === inter && uv === inter,
  };
}

export function recommend(overlaps: PartOverlap[], wu: WholeVsUnion | null, parts: number): Recommendation {
  if (overlaps.length > 0) {
    const pairs = overlaps.map((p) => `${p.a} ∩ ${p.b} = ${p.voxels} voxels`).join(', ');
    return {
      formulation: 'sigmoid',
      reason: `Parts overlap (${pairs}), so a voxel can carry two part labels and no integer class map can hold them. ` +
        'Train one sigmoid channel per structure on the multi-hot target with BCEWithLogits and a per-channel pos_weight.',
    };
  }
  const head = `one softmax over background + ${parts} part${parts === 1 ? '' : 's'} (CrossEntropy on the integer class map)`;
  if (!wu) {
    return { formulation: 'softmax', reason: `Parts are disjoint and the schema has no whole: ${head}.` };
  }
  if (wu.equal) {
    return {
      formulation: 'softmax',
      reason: `Parts are disjoint and the whole equals their union (${wu.wholeVoxels} voxels), so the whole is exactly "class > 0": ${head} is enough.`,
    };
  }
  return {
    formulation: 'joint',
    reason: `Parts are disjoint but the whole differs from their union (${wu.wholeNotUnion} voxels of the whole are in no part, ` +
      `${wu.unionNotWhole} part voxels are outside the whole; Dice ${wu.dice.toFixed(4)}). Train a joint head: one sigmoid channel ` +
      `for the whole (BCEWithLogits) plus ${head}.`,
  };
}

/** pos_weight[c] = negatives / positives over all voxels of channel c (Infinity when no positives). */
export function posWeights(set: LabelSet): ChannelWeight[] {
  return set.schema.structures.map((s, i) => {
    const c = countMask(set.masks[i]);
    return { id: s.id, ...c, posWeight: posWeightRatio(c.positives, c.negatives) };
  });
}

/**
 * Median-frequency balancing (Eigen & Fergus 2015): w_c = median(f) / f_c with f_c the voxel
 * fraction of class c, the median over classes present. Absent classes get weight 0: they
 * contribute no loss terms, and Infinity would poison the weighted mean.
 */
export function classWeights(set: LabelSet, classMapCounts: number[]): ClassWeights {
  const n = voxelCount(set.geometry);
  const ids = ['background', ...partIndices(set).map((i) => set.schema.structures[i].id)];
  const freq = classMapCounts.map((c) => c / n);
  const present = freq.filter((f) => f > 0).sort((a, b) => a - b);
  const mid = present.length >> 1;
  const median = present.length % 2 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
  return {
    method: 'median-frequency',
    classes: ids.map((id, k) => ({ classId: k, id, voxels: classMapCounts[k], frequency: freq[k], weight: freq[k] > 0 ? median / freq[k] : 0 })),
  };
}

export function analyzeLabels(set: LabelSet): LabelAnalysis {
  const n = voxelCount(set.geometry);
  const [sx, sy, sz] = set.geometry.spacing;
  const voxelMm3 = sx * sy * sz;
  const matrix = intersections(set.masks);
  const parts = partIndices(set);
  const structures: StructureStats[] = set.schema.structures.map((s, i) => ({
    id: s.id,
    name: s.name,
    role: s.role,
    classId: s.role === 'part' ? parts.indexOf(i) + 1 : null,
    voxels: matrix[i][i],
    volumeMl: (matrix[i][i] * voxelMm3) / 1000,
  }));
  const overlaps: PartOverlap[] = [];
  for (let x = 0; x < parts.length; x++) {
    for (let y = x + 1; y < parts.length; y++) {
      const c = matrix[parts[x]][parts[y]];
      if (c > 0) overlaps.push({ a: structures[parts[x]].id, b: structures[parts[y]].id, voxels: c });
    }
  }
  let multiPart = 0;
  const partCounts = new Array<number>(parts.length + 1).fill(0);
  for (let v = 0; v < n; v++) {
    let c = 0, cls = 0;
    for (let k = 0; k < parts.length; k++) if (set.masks[parts[k]][v]) { c++; cls = k + 1; }
    if (c > 1) multiPart++;
    else partCounts[cls]++;
  }
  const wu = wholeVsUnion(set);
  const warnings = structures.filter((s) => s.voxels === 0).map((s) => `structure "${s.id}" is empty (0 voxels)`);
  return {
    schema: set.schema.name,
    voxels: n,
    voxelMm3,
    structures,
    overlap: { ids: structures.map((s) => s.id), voxels: matrix },
    partsDisjoint: overlaps.length === 0,
    partOverlaps: overlaps,
    multiPartVoxels: multiPart,
    wholeVsUnion: wu,
    recommendation: recommend(overlaps, wu, parts.length),
    posWeight: posWeights(set),
    classWeights: overlaps.length === 0 ? classWeights(set, partCounts) : null,
    weightingNote: WEIGHTING_NOTE,
    warnings,
  };
}
