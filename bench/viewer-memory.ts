/**
 * Memory of the browser side (every Chromium process: browser, renderer, GPU, utility) while the
 * viewer holds a large case, for the `viewer` bench suite. PSS from /proc/PID/smaps_rollup, so
 * pages shared between processes are split rather than counted twice. Linux only.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Descendants of `root` (not root itself), by scanning /proc/PID/stat parent ids. */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(d), ppid);
    } catch {
      // The process ended while we looked: it holds no memory any more.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(root);
  return out;
}

/** Summed PSS (MiB) of the Chromium processes started by this Node process. */
export function chromiumPssMiB(): number {
  let kb = 0;
  for (const pid of descendants(process.pid)) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8');
      if (!/chrom/i.test(comm)) continue;
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      // Gone or not readable: skip.
    }
  }
  return kb / 1024;
}

/**
 * A CT-sized synthetic case: Int16 HU (air −1000, a body cylinder of 40, four bone ellipsoids of
 * 700) and a label map with the four ellipsoids as values 1..4. i fastest, then j, k.
 */
export function bigCase(dims: [number, number, number]): { ct: Int16Array; labels: Uint8Array } {
  const [nx, ny, nz] = dims;
  const ct = new Int16Array(nx * ny * nz).fill(-1000);
  const labels = new Uint8Array(nx * ny * nz);
  const cx = nx / 2, cy = ny / 2, r = nx * 0.42;
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) {
    if ((i - cx) ** 2 + (j - cy) ** 2 < r * r) ct[i + nx * (j + ny * k)] = 40;
  }
  const rx = nx / 10, ry = ny / 6, rz = nz / 4;
  for (let s = 0; s < 4; s++) {
    const ex = nx * (0.2 + 0.2 * s), ey = cy, ez = nz / 2;
    for (let k = Math.floor(ez - rz); k <= Math.ceil(ez + rz); k++) for (let j = Math.floor(ey - ry); j <= Math.ceil(ey + ry); j++) {
      for (let i = Math.floor(ex - rx); i <= Math.ceil(ex + rx); i++) {
        if (((i - ex) / rx) ** 2 + ((j - ey) / ry) ** 2 + ((k - ez) / rz) ** 2 > 1) continue;
        const o = i + nx * (j + ny * k);
        ct[o] = 700;
        labels[o] = s + 1;
      }
    }
  }
  return { ct, labels };
}
