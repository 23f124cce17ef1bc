/**
 * Compare mode, per structure: the predicted surface with, at every vertex, its signed distance
 * (mm) to the ground-truth surface: positive where the prediction lies outside the truth (over-
 * segmentation, false positive side), negative inside it (under-segmentation, false negative side).
 * The distance is the exact EDT of the truth mask (app/shared/edt.ts) on voxel centres, sampled trilinearly,
 * so it is accurate to about half a voxel; computed in the surface worker.
 */
import { signedDistance, sampleTrilinear } from '../../../../app/shared/edt.ts';
import { boundingBox, cropMask, defaultSurfaceOptions, smoothMask, extractIndexSurface, finishMesh, type Geometry, type LabelData, type Mesh, type StructureSelector } from './surface.ts';

export interface CompareMesh extends Mesh {
  /** Signed distance to the truth surface per vertex, mm. */
  distance: Float32Array;
  /** The vertex with the largest |distance|: its value and voxel index (i, j, k). */
  worst: { distance: number; index: [number, number, number] } | null;
}

export function compareSurface(truth: LabelData, prediction: LabelData, g: Geometry, sel: StructureSelector): CompareMesh | null {
  const s = extractIndexSurface(prediction, g.dims, sel, defaultSurfaceOptions);
  if (!s) return null;
  const tb = boundingBox(truth, g.dims, sel);
  const distance = new Float32Array(s.points.length / 3);
  let worst: CompareMesh['worst'] = null;
  if (!tb) {
    distance.fill(Number.POSITIVE_INFINITY);
  } else {
    // The truth's distance field on a box holding both surfaces, padded with background beyond
    // the grid too (a structure cut by the volume's edge is closed there, like its surface).
    const pb = boundingBox(prediction, g.dims, sel) ?? tb;
    const box = [0, 1, 2].map((a) => Math.min(tb[a], pb[a])).concat([0, 1, 2].map((a) => Math.max(tb[a + 3], pb[a + 3])));
    const crop = cropMask(truth, g.dims, sel, box, 8);
    // The same smoothing as the drawn truth surface, so both surfaces are compared as shown.
    smoothMask(crop.mask, crop.dims);
    for (let o = 0; o < crop.mask.length; o++) crop.mask[o] = crop.mask[o] > 127.5 ? 1 : 0;
    const sd = signedDistance(crop.mask, crop.dims, g.spacing);
    // Voxel centres sit half a voxel from the boundary: shift so that 0 falls on it (exact for
    // faces along the finest axis, within half a voxel otherwise).
    const half = 0.5 * Math.min(...g.spacing);
    for (let o = 0; o < sd.length; o++) sd[o] = sd[o] > 0 ? sd[o] - half : sd[o] + half;
    for (let v = 0; v < distance.length; v++) {
      const i = s.points[3 * v], j = s.points[3 * v + 1], k = s.points[3 * v + 2];
      const d = sampleTrilinear(sd, crop.dims, i - crop.offset[0], j - crop.offset[1], k - crop.offset[2]);
      distance[v] = d;
      if (!worst || Math.abs(d) > Math.abs(worst.distance)) worst = { distance: d, index: [Math.round(i), Math.round(j), Math.round(k)] };
    }
  }
  return { ...finishMesh(s.points, s.triangles, [0, 0, 0], g), distance, worst };
}

/**
 * Per-voxel confusion codes over the given structures (the first structure a voxel belongs to, in
 * truth or prediction, decides): 0 neither, 1 TP, 2 FP (prediction only), 3 FN (truth only).
 */
export function confusionCodes(truth: LabelData, prediction: LabelData, selectors: readonly StructureSelector[], voxels: number): Uint8Array {
  const codes = new Uint8Array(voxels);
  for (const sel of selectors) {
    const vals = sel.values ? new Set(sel.values) : null;
    const inside = (v: number) => (vals ? vals.has(v) : v !== 0);
    for (let o = 0; o < voxels; o++) {
      if (codes[o]) continue;
      const t = inside(truth[sel.base + o]), p = inside(prediction[sel.base + o]);
      if (t || p) codes[o] = t && p ? 1 : p ? 2 : 3;
    }
  }
  return codes;
}
