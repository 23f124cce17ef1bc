/**
 * Training targets from a LabelSet, exactly as the losses want them (see the forum thread in
 * docs: CrossEntropy takes integer class labels, BCEWithLogits takes multi-hot channels; neither
 * takes one-hot, and one-hot cannot even represent overlapping structures).
 *
 * - toClassMap:    integer class map for CrossEntropy: 0 background, parts 1..K in schema order.
 *                  Refused when parts overlap, because one integer per voxel would silently
 *                  drop one of them.
 * - toMultiHot:    one 0/1 channel per structure for BCEWithLogits; any channels may be 1 at
 *                  the same voxel (the whole and its part, two overlapping parts), and all-zero
 *                  is background. No background channel.
 * - toJointTarget: the joint head's two targets: a binary whole mask (BCE channel) and the
 *                  parts' class map (CE over background + K parts).
 *
 * None of these mutate the LabelSet; every result is a fresh array.
 */
import { voxelCount } from '../imaging/volume.ts';
import { OsteonError } from '../util/errors.ts';
import type { LabelSet } from './labelset.ts';
import { intersections, partIndices, structureIndex, wholeIndex } from './labelset.ts';

export interface PartOverlap {
  a: string;
  b: string;
  voxels: number;
}

/** Pairwise overlaps between parts (only pairs that share voxels), in class order. */
export function partOverlaps(set: LabelSet): PartOverlap[] {
  const parts = partIndices(set);
  const m = intersections(parts.map((i) => set.masks[i]));
  const out: PartOverlap[] = [];
  for (let x = 0; x < parts.length; x++) {
    for (let y = x + 1; y < parts.length; y++) {
      if (m[x][y] > 0) out.push({ a: set.schema.structures[parts[x]].id, b: set.schema.structures[parts[y]].id, voxels: m[x][y] });
    }
  }
  return out;
}

/**
 * Integer class map, Uint8 [voxels]: 0 = background, k = part k (1..K, schema order).
 * Throws OsteonError('unsupported') naming the overlapping parts and the number of voxels
 * that belong to more than one part.
 */
export function toClassMap(set: LabelSet): Uint8Array {
  const parts = partIndices(set);
  const n = voxelCount(set.geometry);
  const out = new Uint8Array(n);
  let overlapping = 0;
  let counted: Uint8Array | null = null;
  for (let k = 0; k < parts.length; k++) {
    const m = set.masks[parts[k]];
    const cls = k + 1;
    for (let v = 0; v < n; v++) {
      if (!m[v]) continue;
      if (!out[v]) out[v] = cls;
      else {
        counted ??= new Uint8Array(n);
        if (!counted[v]) {
          counted[v] = 1;
          overlapping++;
        }
      }
    }
  }
  if (overlapping > 0) {
    const pairs = partOverlaps(set).map((p) => `${p.a} ∩ ${p.b}: ${p.voxels}`).join(', ');
    throw new OsteonError({
      code: 'unsupported',
      message: `parts overlap in ${overlapping} voxel${overlapping === 1 ? '' : 's'} (${pairs}); an integer class map (CrossEntropy) holds one class per voxel and would drop them. Use the multi-hot encoding (BCE) instead.`,
      detail: pairs,
    });
  }
  return out;
}

/**
 * Multi-hot target, Uint8 [voxels, C] channels-last: out[v * C + c] = 1 when voxel v is in
 * structure `channels[c]`. Channels default to every structure in schema order (whole first
 * when the schema lists it first). Overlaps are kept; an all-zero row is background.
 */
export function toMultiHot(set: LabelSet, channels: readonly string[] = set.schema.structures.map((s) => s.id)): Uint8Array {
  const idx = channels.map((id) => structureIndex(set, id));
  const n = voxelCount(set.geometry);
  const C = idx.length;
  const out = new Uint8Array(n * C);
  for (let c = 0; c < C; c++) {
    const m = set.masks[idx[c]];
    for (let v = 0; v < n; v++) out[v * C + c] = m[v];
  }
  return out;
}

export interface JointTarget {
  /** Uint8 [voxels], 0/1: the whole structure (target of the sigmoid/BCE channel). */
  whole: Uint8Array;
  /** Uint8 [voxels]: 0 background, 1..K parts (target of the softmax/CE head). */
  parts: Uint8Array;
}

/** Joint target; needs a schema with a whole and disjoint parts (else throws, see toClassMap). */
export function toJointTarget(set: LabelSet): JointTarget {
  const w = wholeIndex(set);
  if (w < 0) {
    throw new OsteonError({ code: 'unsupported', message: `schema "${set.schema.name}" has no structure with role "whole"; the joint target needs one` });
  }
  return { whole: set.masks[w].slice(), parts: toClassMap(set) };
}
