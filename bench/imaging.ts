/**
 * Bench suite `imaging`: reading a synthetic CT-sized 512×512×300 int16 .nii.gz with Osteon's
 * readVolume versus nibabel's `np.asarray(img.dataobj)` (Debian /usr/bin/python3, timed inside
 * one Python process after the import), on the same file in the same run. The voxels are
 * checked to agree by sha256. Also times writeVolume (.nii.gz, gzip level 6) alone.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';
import { readVolume, writeVolume } from '../app/imaging/io.ts';
import type { Volume } from '../app/imaging/volume.ts';

const DIMS: [number, number, number] = [512, 512, 300];

/** A CT-like int16 volume: air around a body ellipse of soft tissue, a bone ring, noise. */
function syntheticCt(): Volume {
  const [nx, ny, nz] = DIMS;
  const data = new Int16Array(nx * ny * nz);
  let seed = 12345;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      for (let x = 0; x < nx; x++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const noise = (seed >> 16) % 41 - 20;
        const ex = (x - 256) / 200, ey = (y - 256) / 150, r = ex * ex + ey * ey;
        const bx = (x - 256) / 40, by = (y - 330) / 35, b = bx * bx + by * by;
        const v = r > 1 ? -1000 : b < 1 && b > 0.5 ? 700 + 3 * z : 40 + ((x ^ y) & 7);
        data[x + nx * (y + ny * z)] = v + noise;
      }
    }
  }
  return { dims: DIMS, spacing: [0.8, 0.8, 1.0], origin: [-204.8, -204.8, -150], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1], data, channels: 1 };
}

const NIBABEL = [
  'import sys, time, json, hashlib',
  'import numpy as np, nibabel as nib',
  'path, n = sys.argv[1], int(sys.argv[2]); times = []',
  'for _ in range(n):',
  '    t = time.perf_counter(); a = np.asarray(nib.load(path).dataobj); times.append(time.perf_counter() - t)',
  'h = hashlib.sha256(np.asfortranarray(a).tobytes(order="F")).hexdigest()',
  'print(json.dumps({"times": times, "sha256": h, "dtype": a.dtype.name, "nibabel": nib.__version__}))',
].join('\n');

export const suite: BenchSuite = {
  name: 'imaging',
  description: 'NIfTI .nii.gz read (vs nibabel) and write, 512×512×300 int16',
  async run(ctx) {
    const dir = mkdtempSync(join(tmpdir(), 'osteon-bench-imaging-'));
    try {
      const file = join(dir, 'ct.nii.gz');
      const vol = syntheticCt();
      const writes: number[] = [];
      for (let r = 0; r < Math.min(ctx.repeats, 2); r++) {
        const t = performance.now();
        writeVolume(file, vol);
        writes.push((performance.now() - t) / 1000);
      }
      const sizeMb = (statSync(file).size / 1e6).toFixed(1);
      const want = createHash('sha256').update(new Uint8Array(vol.data.buffer)).digest('hex');
      const reads: number[] = [];
      let got = '';
      for (let r = 0; r < ctx.repeats; r++) {
        const t = performance.now();
        const v = readVolume(file);
        reads.push((performance.now() - t) / 1000);
        if (r === 0) got = createHash('sha256').update(new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength)).digest('hex');
      }
      const records: BenchRecord[] = [];
      const rs = timeStats(reads);
      const rec: BenchRecord = { name: `read .nii.gz ${DIMS.join('×')} int16 (${sizeMb} MB)`, unit: 's', ...rs, ok: got === want, detail: got === want ? 'voxels identical to the written volume' : 'voxels differ from the written volume' };
      const py = spawnSync('/usr/bin/python3', ['-c', NIBABEL, file, String(ctx.repeats)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      if (py.status === 0) {
        const ref = JSON.parse(py.stdout) as { times: number[]; sha256: string; nibabel: string };
        const median = timeStats(ref.times).median;
        rec.reference = { name: `nibabel ${ref.nibabel} np.asarray(dataobj)`, median };
        rec.ratio = rs.median / median;
        rec.ok = rec.ok && ref.sha256 === want;
        rec.detail += ref.sha256 === want ? '; nibabel reads the same voxels' : '; nibabel voxels DIFFER';
      } else {
        ctx.notice(`imaging: nibabel reference unavailable (${py.stderr.trim().split('\n').pop() ?? 'python3 failed'}); Osteon timed alone`);
      }
      records.push(rec);
      records.push({ name: `write .nii.gz ${DIMS.join('×')} int16 (gzip level 6)`, unit: 's', ...timeStats(writes) });
      return records;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
