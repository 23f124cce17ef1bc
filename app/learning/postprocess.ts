/**
 * Post-processing of predicted structure masks:
 * - keep the largest connected component (26-connectivity) of a structure, applied only where
 *   it raised the mean validation Dice of that structure (nnU-Net's rule: the decision is made on
 *   validation cases and stored in the run folder, postprocessing.json);
 * - hierarchy: parts ⊆ whole (parts := parts ∩ whole) and/or whole := whole ∪ parts.
 * Inputs are never modified; results are new arrays.
 */
import type { Vec3 } from '../imaging/volume.ts';
import { dice, nanMean } from '../metrics/dice.ts';

export type HierarchyMode = 'none' | 'parts-in-whole' | 'whole-covers-parts' | 'both';

export interface PostprocessPlan {
  format: 'osteon-postprocessing/1';
  /** Per structure (channel order): keep only the largest component. */
  largestComponent: boolean[];
  /** Mean validation Dice per structure without and with the step, for the record. */
  evidence: Array<{ id: string; without: number; with: number }>;
  /**
   * Sigmoid head with a whole: make the masks honour the hierarchy (enforceConsistency), applied
   * when it raised the mean validation Dice over all structures; absent in older runs (= off).
   */
  consistency?: { apply: boolean; without: number; with: number };
}

/**
 * The hierarchy made true on a sigmoid head's masks [whole, ...parts]: a voxel in two or more
 * parts keeps only the part with the highest probability (parts are exclusive, as the bones
 * are), and the whole covers every part voxel (whole ⊇ ∪ parts). Whole-only voxels stay whole
 * only (the whole may hold voxels of no part: S1 in the pelvis, the phantom's rim).
 */
export function enforceConsistency(masks: Uint8Array[], probs: ArrayLike<number>[]): Uint8Array[] {
  const out = masks.map((m) => m.slice());
  if (out.length < 3) return out.length === 2 ? [orInto(out[0], out[1]), out[1]] : out;
  const n = out[0].length;
  for (let v = 0; v < n; v++) {
    let on = 0, best = -1, bestP = -Infinity;
    for (let k = 1; k < out.length; k++) {
      if (!out[k][v]) continue;
      on++;
      if (probs[k][v] > bestP) { bestP = probs[k][v]; best = k; }
    }
    if (on === 0) continue;
    out[0][v] = 1;
    if (on > 1) for (let k = 1; k < out.length; k++) out[k][v] = k === best ? 1 : 0;
  }
  return out;
}

function orInto(whole: Uint8Array, part: Uint8Array): Uint8Array {
  for (let v = 0; v < whole.length; v++) if (part[v]) whole[v] = 1;
  return whole;
}

/** Mean over structures of the mean validation Dice over cases. */
function meanDice(cases: Array<{ pred: Uint8Array[]; gt: Uint8Array[] }>): number {
  const S = cases[0]?.gt.length ?? 0;
  return nanMean(Array.from({ length: S }, (_, k) => nanMean(cases.map((c) => dice(c.pred[k], c.gt[k]).dice)).mean)).mean;
}

/** Decides the consistency step on validation cases, as the largest-component step is decided. */
export function decideConsistency(cases: Array<{ pred: Uint8Array[]; gt: Uint8Array[]; probs: ArrayLike<number>[] }>): NonNullable<PostprocessPlan['consistency']> {
  const without = meanDice(cases);
  const withC = meanDice(cases.map((c) => ({ pred: enforceConsistency(c.pred, c.probs), gt: c.gt })));
  return { apply: Number.isFinite(withC) && withC > without, without, with: withC };
}

/**
 * The largest 26-connected component of a mask (ties: the first found in voxel order). Two
 * breadth-first passes with a visited byte per voxel and a growing ring-buffer queue: the first
 * sizes every component, the second paints the largest. On a 512×512×300 mask that is about
 * 0.2 GB at the peak instead of two int32 volumes (0.63 GB) for labels and queue.
 */
export function largestComponent(mask: Uint8Array, dims: Vec3): Uint8Array {
  const seen = new Uint8Array(mask.length);
  const queue = new RingQueue();
  let best = -1, bestSize = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const size = flood(mask, dims, start, seen, queue);
    if (size > bestSize) { bestSize = size; best = start; }
  }
  const out = new Uint8Array(mask.length);
  if (best >= 0) flood(mask, dims, best, out, queue);
  return out;
}

/** Marks (in `mark`) the 26-connected component of `start` in `mask`; returns its size. */
function flood(mask: Uint8Array, dims: Vec3, start: number, mark: Uint8Array, queue: RingQueue): number {
  const [nx, ny, nz] = dims;
  let size = 0;
  queue.push(start);
  mark[start] = 1;
  while (queue.length > 0) {
    const v = queue.shift();
    size++;
    const x = v % nx, t = (v - x) / nx, y = t % ny, z = (t - y) / ny;
    for (let dz = -1; dz <= 1; dz++) {
      const zz = z + dz;
      if (zz < 0 || zz >= nz) continue;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= ny) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= nx) continue;
          const u = xx + nx * (yy + ny * zz);
          if (mask[u] && !mark[u]) { mark[u] = 1; queue.push(u); }
        }
      }
    }
  }
  return size;
}

/** A FIFO of voxel indices that doubles when full (a BFS frontier, not a whole component). */
export class RingQueue {
  private buf: Int32Array;
  private head = 0;
  length = 0;
  constructor(capacity = 1 << 16) {
    this.buf = new Int32Array(capacity);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      const tail = this.buf.length - this.head;
      next.set(this.buf.subarray(this.head));
      next.set(this.buf.subarray(0, this.head), tail);
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.length) % this.buf.length] = v;
    this.length++;
  }
  shift(): number {
    const v = this.buf[this.head];
    this.head = (this.head + 1) % this.buf.length;
    this.length--;
    return v;
  }
}

export function applyHierarchy(masks: Uint8Array[], hasWhole: boolean, mode: HierarchyMode): Uint8Array[] {
  if (!hasWhole || mode === 'none' || masks.length < 2) return masks.map((m) => m.slice());
  const out = masks.map((m) => m.slice());
  const whole = out[0];
  if (mode === 'whole-covers-parts' || mode === 'both') {
    for (let k = 1; k < out.length; k++) { const p = out[k]; for (let v = 0; v < p.length; v++) if (p[v]) whole[v] = 1; }
  }
  if (mode === 'parts-in-whole' || mode === 'both') {
    for (let k = 1; k < out.length; k++) { const p = out[k]; for (let v = 0; v < p.length; v++) if (!whole[v]) p[v] = 0; }
  }
  return out;
}

export function applyPlan(masks: Uint8Array[], dims: Vec3, plan: PostprocessPlan | null): Uint8Array[] {
  return masks.map((m, k) => (plan?.largestComponent[k] ? largestComponent(m, dims) : m.slice()));
}

/** Decides, per structure, whether keeping the largest component raises mean validation Dice. */
export function decidePlan(ids: string[], cases: Array<{ pred: Uint8Array[]; gt: Uint8Array[]; dims: Vec3 }>): PostprocessPlan {
  const evidence = ids.map((id, k) => {
    const without = nanMean(cases.map((c) => dice(c.pred[k], c.gt[k]).dice)).mean;
    const withLcc = nanMean(cases.map((c) => dice(largestComponent(c.pred[k], c.dims), c.gt[k]).dice)).mean;
    return { id, without, with: withLcc };
  });
  return { format: 'osteon-postprocessing/1', largestComponent: evidence.map((e) => Number.isFinite(e.with) && e.with > e.without), evidence };
}
