/**
 * Where a voxel lies in a slice plan (renderer/src/lib/slices.ts), and back. A plan only gives
 * offset(u, v, s); each of u, v, s walks one index axis by ±1, which three probes reveal.
 */
export interface PlanLike {
  width: number;
  height: number;
  depth: number;
  offset: (u: number, v: number, s: number) => number;
}

function coord(off: number, dims: readonly number[]): number[] {
  return [off % dims[0], Math.floor(off / dims[0]) % dims[1], Math.floor(off / (dims[0] * dims[1]))];
}

/** The pixel (u, v) and slice s of voxel `index` in `plan`. */
export function planCoords(plan: PlanLike, dims: readonly number[], index: readonly number[]): { u: number; v: number; s: number } {
  const o = coord(plan.offset(0, 0, 0), dims);
  const along = (probe: number[], n: number): number => {
    if (n < 2) return 0;
    const axis = [0, 1, 2].find((x) => probe[x] !== o[x]) ?? 0;
    const t = (index[axis] - o[axis]) / (probe[axis] - o[axis]);
    return Math.min(n - 1, Math.max(0, Math.round(t)));
  };
  return {
    u: along(coord(plan.offset(Math.min(1, plan.width - 1), 0, 0), dims), plan.width),
    v: along(coord(plan.offset(0, Math.min(1, plan.height - 1), 0), dims), plan.height),
    s: along(coord(plan.offset(0, 0, Math.min(1, plan.depth - 1)), dims), plan.depth),
  };
}

/** The slice (0-based, in the plan's own order) holding voxel `index`. */
export function sliceOfVoxel(plan: PlanLike, dims: readonly number[], index: readonly number[]): number {
  return planCoords(plan, dims, index).s;
}

/** The voxel index under pixel (u, v) of slice s. */
export function voxelAt(plan: PlanLike, dims: readonly number[], u: number, v: number, s: number): [number, number, number] {
  const c = coord(plan.offset(u, v, s), dims);
  return [c[0], c[1], c[2]];
}
