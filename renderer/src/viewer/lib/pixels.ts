/**
 * Pixel classification for tests and benchmarks: each non-background pixel goes to the target
 * colour nearest in chromaticity (r,g,b)/(r+g+b), so shading (brightness) does not matter.
 */
export type Rgb = readonly [number, number, number];

export interface ColourCount {
  count: number;
  /** Mean column of the matching pixels (0 = left edge), NaN when none. */
  meanX: number;
  /** Mean row, 0 = top edge (the GL rows, bottom-up, are flipped), NaN when none. */
  meanY: number;
}

export function countColours(rgba: ArrayLike<number>, width: number, targets: readonly Rgb[], background: Rgb, maxDistance = 0.06): ColourCount[] {
  const chroma = (r: number, g: number, b: number): [number, number, number] => {
    const s = r + g + b || 1;
    return [r / s, g / s, b / s];
  };
  const tc = targets.map((t) => chroma(t[0], t[1], t[2]));
  const counts = targets.map(() => 0);
  const sumX = targets.map(() => 0);
  const sumY = targets.map(() => 0);
  const height = rgba.length / 4 / width;
  for (let i = 0; i < rgba.length; i += 4) {
    const r = rgba[i], g = rgba[i + 1], b = rgba[i + 2];
    if (Math.abs(r - background[0]) + Math.abs(g - background[1]) + Math.abs(b - background[2]) < 24) continue;
    if (r + g + b < 60) continue;
    const c = chroma(r, g, b);
    let best = -1, bestD = maxDistance;
    for (let t = 0; t < tc.length; t++) {
      const d = Math.hypot(c[0] - tc[t][0], c[1] - tc[t][1], c[2] - tc[t][2]);
      if (d < bestD) {
        bestD = d;
        best = t;
      }
    }
    if (best >= 0) {
      counts[best]++;
      sumX[best] += (i / 4) % width;
      sumY[best] += height - 1 - Math.floor(i / 4 / width);
    }
  }
  return counts.map((count, t) => ({ count, meanX: count ? sumX[t] / count : NaN, meanY: count ? sumY[t] / count : NaN }));
}

/** A synthetic label map: `n` ellipsoids (values 1..n) side by side along i, for benchmarks. */
export function syntheticLabels(dims: readonly [number, number, number], n: number): Uint8Array {
  const [nx, ny, nz] = dims;
  const out = new Uint8Array(nx * ny * nz);
  const rx = nx / (2 * n + 2), ry = ny / 4, rz = nz / 3;
  for (let s = 0; s < n; s++) {
    const cx = (2 * s + 2) * rx, cy = ny / 2, cz = nz / 2;
    for (let k = Math.floor(cz - rz); k <= Math.ceil(cz + rz); k++) {
      for (let j = Math.floor(cy - ry); j <= Math.ceil(cy + ry); j++) {
        for (let i = Math.floor(cx - rx); i <= Math.ceil(cx + rx); i++) {
          if (i < 0 || j < 0 || k < 0 || i >= nx || j >= ny || k >= nz) continue;
          const d = ((i - cx) / rx) ** 2 + ((j - cy) / ry) ** 2 + ((k - cz) / rz) ** 2;
          if (d <= 1) out[i + nx * (j + ny * k)] = s + 1;
        }
      }
    }
  }
  return out;
}
