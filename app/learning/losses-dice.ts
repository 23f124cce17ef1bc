/**
 * Soft Dice loss on logits, MONAI `DiceLoss` conventions (squared_pred=False, jaccard=False,
 * batch=False, reduction='mean'; https://docs.monai.io/en/stable/losses.html#diceloss), channels-last
 * `[N, ...spatial, C]`. The loss owns the activation: it takes raw logits, never probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import { channelCount, checkLabels, oneHotF32, lossInputError, requireDtype, sameShape, shapeText, spatialSum } from './losses.ts';

/**
 * What the logits are scored against; the activation is tied to the target's form, so a softmax
 * over a multi-hot mask or a sigmoid over a class map cannot be written.
 * - sigmoid (multi-label): `targets` float32 0/1 `[N, ...spatial, C]`, channels may overlap;
 * - softmax (multi-class): `labels` int32 `[N, ...spatial]` in 0..C-1, scored as one_hot(labels, C).
 */
export type DiceTarget =
  | { activation: 'sigmoid'; targets: tf.Tensor }
  | { activation: 'softmax'; labels: tf.Tensor };

export interface SoftDiceOptions {
  /** Keep channel 0 (default true). False drops it after the activation; ignored when C == 1. */
  includeBackground?: boolean;
  /** Numerator and denominator smoothing, MONAI's defaults 1e-5. */
  smoothNr?: number;
  smoothDr?: number;
}

export const defaultSmooth = 1e-5;

/**
 * Mean over samples n and channels c of f[n,c] = 1 - (2·Σp·g + smoothNr) / (Σp + Σg + smoothDr),
 * the sums running over the spatial axes only (per sample, not over the batch). p and g share a
 * shape `[N, ...spatial, C]` with at least one spatial axis. An empty target channel with an empty
 * prediction gives f ≈ 0 (smoothNr/smoothDr), with a non-empty prediction f ≈ 1.
 */
export function diceOfProbs(p: tf.Tensor, g: tf.Tensor, smoothNr = defaultSmooth, smoothDr = defaultSmooth): tf.Scalar {
  return tf.tidy(() => {
    // Blocked sums over the spatial axes (losses.ts spatialSum): float32 voxel-by-voxel sums drift at training size.
    const inter = spatialSum(tf.mul(p, g));
    const den = tf.add(spatialSum(p), spatialSum(g));
    const f = tf.sub(1, tf.div(tf.add(tf.mul(2, inter), smoothNr), tf.add(den, smoothDr)));
    return tf.mean(f) as tf.Scalar;
  });
}

function checkSmooth(v: number, field: string): number {
  if (!Number.isFinite(v) || v < 0) throw lossInputError(field, `${v}, expected a finite number >= 0`);
  return v;
}

/**
 * Soft Dice on sigmoid(logits) (multi-label) or softmax(logits) over the C channels (multi-class).
 * With includeBackground false and C > 1, channel 0 is removed from p and g AFTER the activation,
 * for the sigmoid too, as MONAI does; the softmax still normalises over all C channels.
 * Softmax needs C >= 2 (MONAI silently skips it for one channel; here that is an error).
 */
export function softDice(logits: tf.Tensor, target: DiceTarget, opts: SoftDiceOptions = {}): tf.Scalar {
  const c = channelCount(logits, 3);
  const nr = checkSmooth(opts.smoothNr ?? defaultSmooth, 'smoothNr');
  const dr = checkSmooth(opts.smoothDr ?? defaultSmooth, 'smoothDr');
  const dropBackground = opts.includeBackground === false && c > 1;
  switch (target.activation) {
    case 'sigmoid': {
      requireDtype(target.targets, 'float32', 'targets');
      if (!sameShape(target.targets.shape, logits.shape)) {
        throw lossInputError('targets', `shape ${shapeText(target.targets.shape)}, expected the logits' shape ${shapeText(logits.shape)} (multi-hot [N,...,C])`);
      }
      return tf.tidy(() => {
        const p = tf.sigmoid(logits);
        return dropBackground ? diceOfProbs(dropChannel0(p), dropChannel0(target.targets), nr, dr) : diceOfProbs(p, target.targets, nr, dr);
      });
    }
    case 'softmax': {
      if (c < 2) throw lossInputError('logits', `softmax over ${c} channel; use the sigmoid activation for a single channel`);
      checkLabels(target.labels, logits, c);
      return tf.tidy(() => {
        const p = tf.softmax(logits, -1);
        const g = oneHotF32(target.labels, c);
        return dropBackground ? diceOfProbs(dropChannel0(p), dropChannel0(g), nr, dr) : diceOfProbs(p, g, nr, dr);
      });
    }
    default: {
      const unknownTarget: never = target;
      throw lossInputError('activation', `unknown activation ${JSON.stringify(unknownTarget)}`);
    }
  }
}

/** `[..., C]` → `[..., C-1]` without channel 0. */
export function dropChannel0(t: tf.Tensor): tf.Tensor {
  const c = t.shape[t.rank - 1];
  const begin = t.shape.map((_, i) => (i === t.rank - 1 ? 1 : 0));
  const size = t.shape.map((d, i) => (i === t.rank - 1 ? c - 1 : d));
  return tf.slice(t, begin, size);
}
