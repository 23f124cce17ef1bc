// Per-kernel speed of the pure-wasm rung's Winograd convolutions against XNNPACK's direct ones
// (docs/cpu-speed.md, "Winograd convolutions"): the 3×3 'same' convolutions of the reference 2D
// U-Net's four levels at batch 4, forward (Conv2D) and input gradient (Conv2DBackpropInput), on
// the calling thread only, in one process, variants interleaved round by round. GFLOP/s are
// effective: the direct convolution's 2·N·OH·OW·9·Ci·Co over the time.
//   OSTEON_WASM_THREADS=1 npx tsx bench/winograd.ts [rounds]
import { execSync } from 'node:child_process';
import { initBackend, tf } from '../app/learning/backend.ts';
import { setWinograd, setWinogradTile } from '../app/learning/kernels/simd/winograd.ts';
import { rand } from '../app/learning/stepcheck.ts';

process.env.OSTEON_WASM_THREADS = '1';
await initBackend({ prefer: 'wasm' });
const rounds = Number(process.argv[2] ?? 5);
const levels: Array<[number, number]> = [[16, 128], [32, 64], [64, 32], [128, 16]];
const variants = [['xnnpack', 0], ['F(2x2)', 2], ['F(4x4)', 4]] as const;
const uptime = (): string => execSync('uptime').toString().trim().replace(/.*load/, 'load');

console.log(`start: ${uptime()}`);
for (const [C, S] of levels) {
  const x = tf.tensor(rand(4 * S * S * C, 1).map((v) => Math.max(0, v)), [4, S, S, C]) as tf.Tensor4D;
  const f = tf.tensor(rand(9 * C * C, 2).map((v) => v * Math.sqrt(6 / (9 * C))), [3, 3, C, C]) as tf.Tensor4D;
  const flops = 2 * 4 * S * S * 9 * C * C;
  const ops = {
    fwd: () => tf.conv2d(x, f, 1, 'same'),
    dx: () => tf.conv2dTranspose(x, f, [4, S, S, C], 1, 'same'),
  };
  for (const [op, fn] of Object.entries(ops)) {
    const times = new Map<string, number[]>();
    const reps = Math.max(2, Math.round(2e9 / flops));
    for (let r = 0; r <= rounds; r++) {
      for (const [name, m] of variants) {
        setWinograd(m !== 0);
        setWinogradTile(m === 0 ? 0 : m);
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) fn().dispose();
        const ms = (performance.now() - t0) / reps;
        if (r > 0) times.set(name, [...(times.get(name) ?? []), ms]);
      }
    }
    const row = variants.map(([name]) => {
      const ts = times.get(name)!.sort((a, b) => a - b);
      const med = ts[Math.floor(ts.length / 2)];
      return `${name} ${med.toFixed(2)} ms ${(flops / med / 1e6).toFixed(1)} GFLOP/s`;
    });
    console.log(`${C}@${S}² ${op}: ${row.join(' | ')}`);
  }
  tf.dispose([x, f]);
}
console.log(`end: ${uptime()}`);
