/**
 * Review-only mode (docs/review.md): with OSTEON_BACKEND=none the workstation opens, reviews, edits,
 * compares and reports without loading tfjs or native kernels; the calls that need the ML backend
 * (start it, train, evaluate, tune thresholds, predict) answer `unavailable` with this reason, and
 * the renderer shows it beside the controls (app.capabilities).
 */
import { ContractError } from '../contract/result.ts';

export function mlUnavailable(): string | null {
  if (process.env.OSTEON_BACKEND?.trim() !== 'none') return null;
  return 'Review-only mode: the ML backend is switched off (OSTEON_BACKEND=none). Review, editing, versions and reports work; '
    + 'train and predict where a backend is available (`osteon doctor` lists them).';
}

/** Throws `unavailable` naming what needed the backend, in review-only mode. */
export function requireMl(what: string): void {
  const reason = mlUnavailable();
  if (reason) throw new ContractError({ code: 'unavailable', message: `${what} needs the ML backend. ${reason}` });
}
