// The "open this case at this slice" request from the training results, shared with the viewer:
// the results table calls viewFocus.request(...); a viewport showing that case's axial view moves
// to the slice once (take() consumes it). The compare view can read the same request.
import type { FocusRequest } from './focus.ts';

export class ViewFocus {
  #pending = $state.raw<(FocusRequest & { seq: number }) | null>(null);
  #last = $state.raw<FocusRequest | null>(null);
  #seq = 0;

  /** The request not yet applied by a viewer (reactive). */
  get pending(): (FocusRequest & { seq: number }) | null {
    return this.#pending;
  }

  /** The most recent request, applied or not (for a banner: "run X, structure Y, slice Z"). */
  get last(): FocusRequest | null {
    return this.#last;
  }

  request(f: FocusRequest): void {
    this.#last = f;
    this.#pending = { ...f, seq: ++this.#seq };
  }

  /** A viewer applied the request `seq`. */
  take(seq: number): void {
    if (this.#pending?.seq === seq) this.#pending = null;
  }
}

export const viewFocus = new ViewFocus();

/**
 * The viewport slice s whose voxels have index `k` along index axis `axis`, for a slice plan
 * (renderer/src/lib/slices.ts) whose offset(u, v, s) walks a grid of `dims`; null when the
 * plan's slices do not run along that axis.
 */
export function sliceForIndex(plan: { depth: number; offset(u: number, v: number, s: number): number }, dims: readonly number[], axis: number, k: number): number | null {
  const stride = axis === 0 ? 1 : axis === 1 ? dims[0] : dims[0] * dims[1];
  const along = (o: number) => Math.floor(o / stride) % dims[axis];
  if (plan.depth !== dims[axis]) return null;
  for (let s = 0; s < plan.depth; s++) if (along(plan.offset(0, 0, s)) === k && along(plan.offset(0, 0, (s + 1) % plan.depth)) !== k) return s;
  return null;
}
