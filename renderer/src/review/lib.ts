/**
 * Pure helpers of the Review panel: applying an edit patch (app/contract/review.ts EditPatch) to
 * the renderer's copy of the masks, the TP/FP/FN codes of one structure between two versions for
 * the slice overlay, and the labels shown for review states. No DOM, no contract calls.
 */
import type { CaseReviewSummary, EditPatch, ReviewReason, ReviewState, VersionSource } from '../../../app/contract/index.ts';

/** Decodes base64 to bytes (atob: the renderer has no Buffer). */
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Writes a patch into `data`: channels of `n` voxels one after another (volume.ts order, i fastest),
 * each channel's box bytes copied row by row. Mutates `data` (the working copy is the renderer's own).
 */
export function applyPatch(data: Uint8Array, dims: readonly [number, number, number], patch: EditPatch): void {
  if (!patch.box) return;
  const [nx, ny, nz] = dims;
  const n = nx * ny * nz;
  const [i0, j0, k0, i1, j1, k1] = patch.box;
  const w = i1 - i0;
  for (const ch of patch.channels) {
    const bytes = fromBase64(ch.data);
    if (bytes.length !== w * (j1 - j0) * (k1 - k0)) throw new Error(`patch channel ${ch.channel}: ${bytes.length} bytes for its box`);
    let q = 0;
    for (let k = k0; k < k1; k++) for (let j = j0; j < j1; j++) {
      data.set(bytes.subarray(q, q + w), ch.channel * n + i0 + nx * (j + ny * k));
      q += w;
    }
  }
}

/** Per voxel of one channel: 0 neither, 1 both (TP), 2 only in b (FP), 3 only in a (FN). */
export function confusionCodes(a: ArrayLike<number>, b: ArrayLike<number>, channel: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const base = channel * n;
  for (let v = 0; v < n; v++) {
    const x = a[base + v] !== 0, y = b[base + v] !== 0;
    out[v] = x && y ? 1 : y ? 2 : x ? 3 : 0;
  }
  return out;
}

export const stateLabels: Record<ReviewState, string> = { accepted: 'Accepted', 'needs-correction': 'Needs correction', rejected: 'Rejected' };
export const reasonLabels: Record<ReviewReason, string> = { 'under-segmented': 'Under-segmented', leak: 'Leak', 'wrong-side': 'Wrong side', boundary: 'Boundary' };
export const overallLabels: Record<CaseReviewSummary['overall'], string> = {
  unreviewed: 'Unreviewed', partial: 'In review', accepted: 'Accepted', 'needs-correction': 'Needs correction', rejected: 'Rejected',
};

export function sourceLabel(s: VersionSource): string {
  switch (s.kind) {
    case 'ground-truth': return 'ground truth';
    case 'prediction': return `prediction ${s.runId}`;
    case 'edit': return s.of === null ? 'edit of ground truth' : `edit of v${s.of}`;
    case 'restore': return `restore of v${s.of}`;
    default: { const never: never = s; return String(never); }
  }
}

/** What computed a prediction version ("webgpu on the GPU host page (…)"), or null (other sources, older versions). */
export function sourceBackend(s: VersionSource): string | null {
  return s.kind === 'prediction' ? s.backend ?? null : null;
}

export function fmt(x: number | null, digits: number): string {
  return x === null ? '–' : x.toFixed(digits);
}
