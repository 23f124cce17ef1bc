/**
 * 2D slice previews of a volume for the placeholder viewports (the vtk.js viewer replaces them
 * later). Pure functions on typed arrays; no DOM.
 *
 * Voxel layout is app/imaging/volume.ts's: offset = i + nx*(j + ny*(k + nz*c)); world is LPS;
 * `direction` is row-major with column c the world direction of index axis c.
 *
 * Display conventions (radiological, as in OHIF and Slicer):
 * - axial:    screen right = patient Left (+x), screen down = Posterior (+y), normal = S
 * - coronal:  screen right = patient Left (+x), screen down = Inferior (−z), normal = P
 * - sagittal: screen right = Posterior (+y),    screen down = Inferior (−z), normal = L
 */
export type SliceView = 'axial' | 'coronal' | 'sagittal';

export interface GridLike {
  dims: [number, number, number];
  spacing: [number, number, number];
  direction: readonly number[];
}

/** Which world axis (0=x L, 1=y P, 2=z S) each index axis mostly runs along, and its sign. */
export function axisMap(direction: readonly number[]): { world: number[]; sign: number[] } {
  const world: number[] = [], sign: number[] = [];
  for (let a = 0; a < 3; a++) {
    let best = 0;
    for (let w = 1; w < 3; w++) if (Math.abs(direction[3 * w + a]) > Math.abs(direction[3 * best + a])) best = w;
    world.push(best);
    sign.push(direction[3 * best + a] >= 0 ? 1 : -1);
  }
  return { world, sign };
}

interface ViewAxes {
  /** world axis and the direction (+1/−1) that increases to the right / downward / along the normal. */
  x: [number, number];
  y: [number, number];
  n: [number, number];
}

const viewAxes: Record<SliceView, ViewAxes> = {
  axial: { x: [0, 1], y: [1, 1], n: [2, 1] },
  coronal: { x: [0, 1], y: [2, -1], n: [1, 1] },
  sagittal: { x: [1, 1], y: [2, -1], n: [0, 1] },
};

/** Orientation letters at the four edges: [left, right, top, bottom]. */
export const edgeLetters: Record<SliceView, [string, string, string, string]> = {
  axial: ['R', 'L', 'A', 'P'],
  coronal: ['R', 'L', 'S', 'I'],
  sagittal: ['A', 'P', 'S', 'I'],
};

export interface SlicePlan {
  width: number;
  height: number;
  /** Physical size of a pixel, for the display aspect ratio. */
  pixelWidthMm: number;
  pixelHeightMm: number;
  /** Number of slices along the view's normal. */
  depth: number;
  /** Voxel offset of pixel (u, v) on slice s: base(s) + u*du + v*dv, after flips. */
  offset: (u: number, v: number, s: number) => number;
}

export function planSlice(g: GridLike, view: SliceView): SlicePlan {
  const { world, sign } = axisMap(g.direction);
  const idx = (w: number): number => {
    const a = world.indexOf(w);
    // A degenerate direction (two index axes on one world axis) falls back to index order.
    return a >= 0 ? a : w;
  };
  const va = viewAxes[view];
  const ax = idx(va.x[0]), ay = idx(va.y[0]), an = idx(va.n[0]);
  const flipX = sign[ax] * va.x[1] < 0, flipY = sign[ay] * va.y[1] < 0, flipN = sign[an] * va.n[1] < 0;
  const [nx, ny] = g.dims;
  const stride = [1, nx, nx * ny];
  const w = g.dims[ax], h = g.dims[ay], d = g.dims[an];
  return {
    width: w,
    height: h,
    pixelWidthMm: g.spacing[ax],
    pixelHeightMm: g.spacing[ay],
    depth: d,
    offset: (u, v, s) =>
      (flipX ? w - 1 - u : u) * stride[ax] + (flipY ? h - 1 - v : v) * stride[ay] + (flipN ? d - 1 - s : s) * stride[an],
  };
}

/** Where a slice sits in a view: its top-left corner (x0, y0) and one pixel's size (du, dv), in CSS px. */
export interface SliceBox {
  x0: number;
  y0: number;
  du: number;
  dv: number;
}

/**
 * The slice as SliceCanvas draws it (object-fit: contain at physical proportions) in a view of
 * `size`, then zoomed about the centre and panned as Viewport's stage is. Pointer layers map
 * screen positions to pixels with it, so they land where the picture is.
 */
export function sliceBox(plan: SlicePlan, size: { w: number; h: number }, zoom: number, panX: number, panY: number): SliceBox {
  const cw = plan.width, ch = Math.max(1, Math.round(plan.height * (plan.pixelHeightMm / plan.pixelWidthMm)));
  const scale = Math.min(size.w / cw, size.h / ch) * zoom;
  return { x0: size.w / 2 + panX - (cw * scale) / 2, y0: size.h / 2 + panY - (ch * scale) / 2, du: scale, dv: (scale * ch) / plan.height };
}

export type Rgb = [number, number, number];

export interface OverlayChannel {
  /** The schema structure it draws, when known (for show/hide). */
  id?: string;
  /** Offset of this structure's channel in the label data (c * voxels), or 0 for a label map. */
  base: number;
  /** For a label map: the values that belong to the structure. Null for a 0/1 channel. */
  values: ReadonlySet<number> | null;
  colour: Rgb;
  /** Wholes are drawn as an outline so the parts inside stay visible. */
  outline: boolean;
}

export interface RenderInput {
  plan: SlicePlan;
  slice: number;
  ct: ArrayLike<number> | null;
  window: number;
  level: number;
  labels: ArrayLike<number> | null;
  overlays: readonly OverlayChannel[];
  opacity: number;
}

/** RGBA pixels (width*height*4) of one slice: CT in grey with the label overlay blended on top. */
export function renderSlice(inp: RenderInput): Uint8ClampedArray<ArrayBuffer> {
  const { plan, slice, ct, labels, overlays } = inp;
  const { width, height } = plan;
  const out = new Uint8ClampedArray(width * height * 4);
  const lo = inp.level - inp.window / 2;
  const scale = 255 / Math.max(inp.window, 1e-6);
  const inside = (o: OverlayChannel, off: number): boolean => {
    if (!labels) return false;
    const v = labels[o.base + off];
    return o.values ? o.values.has(v) : v > 0;
  };
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const off = plan.offset(u, v, slice);
      let r = 0, g = 0, b = 0;
      if (ct) {
        const grey = (ct[off] - lo) * scale;
        r = g = b = grey < 0 ? 0 : grey > 255 ? 255 : grey;
      }
      for (const o of overlays) {
        if (!inside(o, off)) continue;
        let a = inp.opacity;
        if (o.outline) {
          const edge =
            u === 0 || v === 0 || u === width - 1 || v === height - 1 ||
            !inside(o, plan.offset(u - 1, v, slice)) || !inside(o, plan.offset(u + 1, v, slice)) ||
            !inside(o, plan.offset(u, v - 1, slice)) || !inside(o, plan.offset(u, v + 1, slice));
          if (!edge) continue;
          a = 1;
        }
        r += (o.colour[0] - r) * a;
        g += (o.colour[1] - g) * a;
        b += (o.colour[2] - b) * a;
      }
      const p = (v * width + u) * 4;
      out[p] = r;
      out[p + 1] = g;
      out[p + 2] = b;
      out[p + 3] = 255;
    }
  }
  return out;
}

export function hexToRgb(hex: string): Rgb {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 255];
}

/** A fallback palette for label values that no schema colours. */
const palette: Rgb[] = [
  [230, 85, 70], [80, 180, 240], [120, 200, 90], [240, 190, 60], [180, 110, 230], [60, 210, 190], [240, 120, 180], [200, 160, 110],
];

export function paletteColour(i: number): Rgb {
  return palette[((i % palette.length) + palette.length) % palette.length];
}
