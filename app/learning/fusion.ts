/**
 * the seam between the losses (browser-safe: the GPU host page bundles heads.ts) and the
 * fused native loss of the wasm+dnnl rung (native/loss-adam.ts, Node only). The native side installs
 * its implementation when its kernels are registered (native/register.ts); until then, and in the
 * browser, `fusedHeadLoss` returns null and the losses run their tfjs ops.
 */
import type * as tf from '@tensorflow/tfjs';

/** A head loss in fused form; channel ranges index the logits' last axis. */
export interface FusedLossSpec {
  /**
   * BCE on channels [c0, c0 + n) against float32 targets [..., n]; its value is always computed
   * and returned, its gradient scaled by `a` (0: none). `diceFrom`: sigmoid Dice on these
   * channels from this one on (null: none).
   */
  bce?: { c0: number; n: number; targets: tf.Tensor; posWeight: readonly number[] | null; diceFrom: number | null };
  /** CE on channels [c0, c0 + k) against int32 labels [...] (range already checked); as bce, scaled by `b`; softmax Dice on classes from diceFrom. */
  ce?: { c0: number; k: number; labels: tf.Tensor; weight: readonly number[] | null; diceFrom: number | null };
  /** Term weights (a term with weight 0 is not computed), Dice smoothing. */
  a: number;
  b: number;
  c: number;
  smoothNr: number;
  smoothDr: number;
}

export interface FusedLossResult {
  total: tf.Scalar;
  components: { bce?: tf.Scalar; ce?: tf.Scalar; dice?: tf.Scalar };
}

export type FusedLossFn = (logits: tf.Tensor, spec: FusedLossSpec) => FusedLossResult | null;

let impl: FusedLossFn | null = null;

/** Installs (or, with null, removes) the fused loss. */
export function setFusedLoss(fn: FusedLossFn | null): void {
  impl = fn;
}

/** The fused loss, or null when none is installed or it does not apply here (then run the tfjs ops). */
export function fusedHeadLoss(logits: tf.Tensor, spec: FusedLossSpec): FusedLossResult | null {
  return impl ? impl(logits, spec) : null;
}
