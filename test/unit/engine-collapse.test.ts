// The seed's "same output in all channels": inject the channel-axis mistake into the stacked
// targets of a phantom case and check that the collapse detector raises its finding (and names
// the mistake), while the correctly stacked targets raise nothing.
import { describe, expect, it } from 'vitest';
import { detectChannelCollapse } from '../../app/metrics/collapse.ts';
import { generatePhantom } from '../../app/phantom/generate.ts';

function channels(): Uint8Array[] {
  const p = generatePhantom(7);
  const lab = p.labels.data;
  const n = lab.length;
  const whole = new Uint8Array(n), parts = [1, 2, 3].map(() => new Uint8Array(n));
  for (let v = 0; v < n; v++) {
    if (lab[v] >= 1 && lab[v] <= 4) whole[v] = 1;
    if (lab[v] >= 1 && lab[v] <= 3) parts[lab[v] - 1][v] = 1;
  }
  return [whole, ...parts];
}

/**
 * The mistake: masks stacked channels-first ([S, V], like np.stack(axis=0)) but read as
 * channels-last ([V, S]). Channel k at voxel v then holds stacked[v·S + k].
 */
function channelAxisMixup(masks: Uint8Array[]): Uint8Array[] {
  const S = masks.length, V = masks[0].length;
  const flat = new Uint8Array(S * V);
  masks.forEach((m, s) => flat.set(m, s * V));
  return masks.map((_, k) => Uint8Array.from({ length: V }, (_, v) => flat[v * S + k]));
}

describe('channel-collapse detector on injected mistakes', () => {
  const names = ['whole', 'left', 'centre', 'right'];

  it('flags predictions learned from channel-axis-mixed targets', () => {
    const gt = channels();
    // A model that fits its (wrong) targets perfectly predicts exactly them.
    const pred = channelAxisMixup(gt);
    const finding = detectChannelCollapse([pred], [gt], { channelNames: names });
    expect(finding).not.toBeNull();
    expect(finding!.channels.length).toBeGreaterThanOrEqual(2);
    expect(finding!.likelyCauses.map((c) => c.id)).toContain('one-hot-targets'); // "masks stacked along the wrong axis"
    expect(finding!.likelyCauses.find((c) => c.id === 'one-hot-targets')!.text).toMatch(/wrong axis/);
    expect(finding!.message).toMatch(/agree far more than their targets/);
  });

  it('stays silent for the correct stacking', () => {
    const gt = channels();
    expect(detectChannelCollapse([gt.map((m) => m.slice())], [gt], { channelNames: names })).toBeNull();
  });
});
