/**
 * The review report (docs/review.md): per case one page with key images (axial, coronal and
 * sagittal slices through each structure's centroid, CT in a bone window with the structures in
 * their schema colours, wholes as outlines) plus a 3D view of the structures (./render3d.ts), the volume of each structure in mL, Dice and HD95
 * against the ground truth where the case has one, the review state with comments and reasons,
 * and the version and run that produced the masks; a project report puts a summary page first.
 *
 * The HTML is self-contained (images inline as PNG data URLs) and paginated with CSS
 * (`break-after: page`), so printing it to PDF (Chromium headless, Electron printToPDF) gives one
 * page per case. Slices are oriented as the workstation's slice views (patient's right on the
 * left of axial and coronal images, superior up), from the grid's direction (LPS, volume.ts).
 */
import type { CaseReview, StructureReview, VersionInfo } from '../contract/review.ts';
import type { Mat3, Vec3, VoxelArray } from '../imaging/volume.ts';
import { compareMasks } from './compare.ts';
import { encodePng } from './png.ts';
import { renderStructures3d } from './render3d.ts';

export interface ReportStructure {
  id: string;
  name: string;
  colour: string;
  role: 'whole' | 'part';
}

export interface ReportCaseInput {
  caseId: string;
  caseName: string;
  dims: Vec3;
  spacing: Vec3;
  /** The grid's direction (for the 3D view's patient orientation); identity when absent. */
  direction?: Mat3;
  ct: VoxelArray;
  structures: readonly ReportStructure[];
  /** The masks reported on (schema order). */
  masks: readonly Uint8Array[];
  /** The imported labels, when the case has them (schema order). */
  groundTruth: readonly Uint8Array[] | null;
  /** The version reported on; null when it is the imported labels themselves. */
  version: VersionInfo | null;
  /** The training run whose prediction this version goes back to, if any. */
  runId: string | null;
  review: CaseReview;
}

export interface ReportStructureRow {
  structure: ReportStructure;
  voxels: number;
  volumeMl: number;
  dice: number | null;
  hd95: number | null;
  review: StructureReview | null;
  centroid: Vec3 | null;
  /** PNG data URLs: axial, coronal, sagittal through the centroid (absent for an empty mask). */
  images: { axial: string; coronal: string; sagittal: string } | null;
}

const WINDOW = { width: 2000, level: 300 };
const IMAGE_PX = 180;

function rgbOf(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [255, 0, 255];
}

export function centroidOf(mask: Uint8Array, dims: Vec3): Vec3 | null {
  const [nx, ny] = dims;
  let n = 0, si = 0, sj = 0, sk = 0;
  for (let o = 0; o < mask.length; o++) {
    if (!mask[o]) continue;
    n++;
    si += o % nx;
    sj += Math.floor(o / nx) % ny;
    sk += Math.floor(o / (nx * ny));
  }
  return n ? [Math.round(si / n), Math.round(sj / n), Math.round(sk / n)] : null;
}

type View = 'axial' | 'coronal' | 'sagittal';

/** Which index axis runs along world axis w (0 L, 1 P, 2 S) and with which sign, from the direction matrix. */
function indexAxisOf(direction: Mat3 | undefined, w: number): { axis: number; sign: 1 | -1 } {
  const d = direction ?? [1, 0, 0, 0, 1, 0, 0, 0, 1];
  let best = -1, bestAbs = -1;
  for (let a = 0; a < 3; a++) {
    let dominant = 0;
    for (let x = 1; x < 3; x++) if (Math.abs(d[3 * x + a]) > Math.abs(d[3 * dominant + a])) dominant = x;
    if (dominant === w && Math.abs(d[3 * w + a]) > bestAbs) {
      best = a;
      bestAbs = Math.abs(d[3 * w + a]);
    }
  }
  // A degenerate direction (two index axes along one world axis) falls back to index order.
  if (best < 0) return { axis: w, sign: 1 };
  return { axis: best, sign: d[3 * w + best] >= 0 ? 1 : -1 };
}

/**
 * RGBA of one slice through `at`, resampled (nearest) to square pixels with the longer side
 * IMAGE_PX, oriented as the workstation's slice views (renderer/src/lib/slices.ts), whatever the
 * grid's direction: axial patient's right on the left, anterior up; coronal right on the left,
 * superior up; sagittal anterior on the left, superior up.
 */
export function keySlice(inp: Pick<ReportCaseInput, 'ct' | 'dims' | 'spacing' | 'structures' | 'masks' | 'direction'>, view: View, at: Vec3): { rgba: Uint8Array; width: number; height: number } {
  const { dims, spacing } = inp;
  // World axis and sign that increase rightwards and downwards on the image (as the viewer).
  const [wx, wy] = view === 'axial' ? [[0, 1], [1, 1]] : view === 'coronal' ? [[0, 1], [2, -1]] : [[1, 1], [2, -1]];
  const X = indexAxisOf(inp.direction, wx[0]), Y = indexAxisOf(inp.direction, wy[0]);
  const ax = X.axis, ay = Y.axis;
  const flipX = X.sign * wx[1] < 0, flipY = Y.sign * wy[1] < 0;
  const wMm = dims[ax] * spacing[ax], hMm = dims[ay] * spacing[ay];
  const scale = IMAGE_PX / Math.max(wMm, hMm);
  const width = Math.max(1, Math.round(wMm * scale)), height = Math.max(1, Math.round(hMm * scale));
  const colours = inp.structures.map((s) => rgbOf(s.colour));
  const [nx, ny] = dims;
  const idx = new Int32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const aRaw = Math.min(dims[ax] - 1, Math.floor((x / width) * dims[ax]));
    const bRaw = Math.min(dims[ay] - 1, Math.floor((y / height) * dims[ay]));
    const a = flipX ? dims[ax] - 1 - aRaw : aRaw;
    const b = flipY ? dims[ay] - 1 - bRaw : bRaw;
    const v: [number, number, number] = [at[0], at[1], at[2]];
    v[ax] = a;
    v[ay] = b;
    idx[x + width * y] = v[0] + nx * (v[1] + ny * v[2]);
  }
  const rgba = new Uint8Array(width * height * 4);
  const lo = WINDOW.level - WINDOW.width / 2;
  const inside = (s: number, x: number, y: number) => x >= 0 && y >= 0 && x < width && y < height && inp.masks[s][idx[x + width * y]] !== 0;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const o = idx[x + width * y];
    const g = Math.max(0, Math.min(255, ((inp.ct[o] - lo) / WINDOW.width) * 255));
    let r = g, gg = g, b = g;
    inp.structures.forEach((s, k) => {
      if (!inside(k, x, y)) return;
      let alpha = 0.45;
      if (s.role === 'whole') {
        const edge = !inside(k, x - 1, y) || !inside(k, x + 1, y) || !inside(k, x, y - 1) || !inside(k, x, y + 1);
        if (!edge) return;
        alpha = 1;
      }
      r += (colours[k][0] - r) * alpha;
      gg += (colours[k][1] - gg) * alpha;
      b += (colours[k][2] - b) * alpha;
    });
    const p = 4 * (x + width * y);
    rgba[p] = r;
    rgba[p + 1] = gg;
    rgba[p + 2] = b;
    rgba[p + 3] = 255;
  }
  return { rgba, width, height };
}

function dataUrl(img: { rgba: Uint8Array; width: number; height: number }): string {
  return `data:image/png;base64,${encodePng(img.rgba, img.width, img.height).toString('base64')}`;
}

/** The 3D view's camera: anterior, turned 30° towards the patient's left, 15° from above. */
export const VIEW3D = { azimuthDeg: 30, elevationDeg: 15, size: 240 } as const;

/** The case's 3D view (app/review/render3d.ts) as a PNG data URL; null when every mask is empty. */
export function reportView3d(inp: ReportCaseInput): string | null {
  if (!inp.masks.some((m) => m.some((v) => v !== 0))) return null;
  return dataUrl(renderStructures3d({ dims: inp.dims, spacing: inp.spacing, ...(inp.direction ? { direction: inp.direction } : {}), structures: inp.structures, masks: inp.masks }, VIEW3D));
}

export function reportRows(inp: ReportCaseInput): ReportStructureRow[] {
  const voxelMl = (inp.spacing[0] * inp.spacing[1] * inp.spacing[2]) / 1000;
  const grid = { dims: inp.dims, spacing: inp.spacing };
  return inp.structures.map((s, k) => {
    const m = inp.masks[k];
    let voxels = 0;
    for (let v = 0; v < m.length; v++) if (m[v]) voxels++;
    const cmp = inp.groundTruth ? compareMasks(inp.groundTruth[k], m, grid) : null;
    const centroid = centroidOf(m, inp.dims);
    return {
      structure: s, voxels, volumeMl: voxels * voxelMl,
      dice: cmp && Number.isFinite(cmp.dice) ? cmp.dice : null, hd95: cmp && Number.isFinite(cmp.hd95) ? cmp.hd95 : null,
      review: inp.review.structures.find((r) => r.structure === s.id) ?? null, centroid,
      images: centroid ? { axial: dataUrl(keySlice(inp, 'axial', centroid)), coronal: dataUrl(keySlice(inp, 'coronal', centroid)), sagittal: dataUrl(keySlice(inp, 'sagittal', centroid)) } : null,
    };
  });
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (x: number | null, d: number) => (x === null ? '–' : x.toFixed(d));
const stateText = { accepted: 'Accepted', 'needs-correction': 'Needs correction', rejected: 'Rejected' } as const;

function versionText(c: ReportCaseInput): string {
  if (!c.version) return 'imported labels (no saved version)';
  const s = c.version.source;
  const src = s.kind === 'ground-truth' ? 'ground truth' : s.kind === 'prediction' ? `prediction of run ${s.runId}` : s.kind === 'edit' ? (s.of === null ? 'edit of the ground truth' : `edit of v${s.of}`) : `restore of v${s.of}`;
  return `v${c.version.version} (${src}) by ${c.version.author}, ${c.version.time}${c.version.message ? ` — “${c.version.message}”` : ''}`;
}

function casePage(c: ReportCaseInput, rows: readonly ReportStructureRow[], view3d: string | null): string {
  const legend = rows.filter((r) => r.voxels > 0).map((r) => `<span class="dot" style="background:${esc(r.structure.colour)}"></span>${esc(r.structure.name)}`).join(' ');
  const fig3d = view3d ? `
      <figure class="v3d"><figcaption>3D <span class="muted">anterior view turned ${VIEW3D.azimuthDeg}° to the patient's left, ${VIEW3D.elevationDeg}° from above; the whole translucent in front of the parts</span></figcaption>
        <img alt="3D view of ${esc(c.caseName)}" src="${view3d}"><div class="muted">${legend}</div></figure>` : '';
  const img = fig3d + rows.filter((r) => r.images).map((r) => `
      <figure><figcaption><span class="dot" style="background:${esc(r.structure.colour)}"></span>${esc(r.structure.name)}
        <span class="muted">centroid ${r.centroid!.join(', ')}</span></figcaption>
        <img alt="${esc(r.structure.name)} axial" src="${r.images!.axial}"><img alt="${esc(r.structure.name)} coronal" src="${r.images!.coronal}"><img alt="${esc(r.structure.name)} sagittal" src="${r.images!.sagittal}"></figure>`).join('');
  const table = rows.map((r) => `<tr><td><span class="dot" style="background:${esc(r.structure.colour)}"></span>${esc(r.structure.name)}</td><td>${r.structure.role}</td>
      <td class="n">${r.volumeMl.toFixed(2)}</td><td class="n">${num(r.dice, 4)}</td><td class="n">${num(r.hd95, 2)}</td>
      <td class="st ${r.review?.state ?? 'unreviewed'}">${r.review ? stateText[r.review.state] : 'Unreviewed'}</td>
      <td>${r.review?.reason ? esc(r.review.reason) : ''}</td><td>${r.review?.comment ? esc(r.review.comment) : ''}${r.review ? `<div class="muted">${esc(r.review.user)}, ${esc(r.review.time)}</div>` : ''}</td></tr>`).join('');
  return `
  <section class="case" data-case="${esc(c.caseId)}">
    <h1>${esc(c.caseName)} <span class="muted">(${esc(c.caseId)})</span></h1>
    <p>Segmentation: ${esc(versionText(c))}${c.runId ? ` · run <b>${esc(c.runId)}</b>` : ''}</p>
    <p class="muted">Grid ${c.dims.join('×')} voxels of ${c.spacing.map((s) => s.toFixed(2)).join('×')} mm.
      ${c.groundTruth ? 'Dice and HD95 against the imported ground truth.' : 'No ground truth: no Dice or HD95.'}</p>
    <table><thead><tr><th>Structure</th><th>Role</th><th>Volume mL</th><th>Dice</th><th>HD95 mm</th><th>Review</th><th>Reason</th><th>Comment</th></tr></thead><tbody>${table}</tbody></table>
    <div class="images"><p class="muted">Key images: the 3D view, then axial · coronal · sagittal through each structure's centroid (bone window ${WINDOW.width}/${WINDOW.level}).</p>${img}</div>
  </section>`;
}

/** The report loads nothing: inline styles and data: images only (Chromium headless and Electron printToPDF alike). */
export const REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

const CSS = `
  @page { size: A4; margin: 12mm; }
  body { font: 10pt system-ui, sans-serif; color: #111; margin: 0; }
  section { break-after: page; page-break-after: always; }
  section:last-child { break-after: auto; page-break-after: auto; }
  h1 { font-size: 15pt; margin: 0 0 4px; }
  p { margin: 2px 0; }
  .muted { color: #666; font-size: 8.5pt; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: 8.5pt; }
  th, td { border-bottom: 1px solid #ccc; padding: 2px 4px; text-align: left; vertical-align: top; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  .st.accepted { color: #17752b; } .st.rejected { color: #b3261e; } .st.needs-correction { color: #9a6700; }
  .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; margin-right: 4px; border: 1px solid #999; }
  .images { display: flex; flex-wrap: wrap; gap: 4px 10px; }
  figure { margin: 0; break-inside: avoid; }
  figcaption { font-size: 8.5pt; }
  figure img { height: 108px; margin-right: 2px; background: #000; }
  figure.v3d img { height: 200px; }
  figure.v3d { width: 100%; }
`;

/** The report document: an optional project summary page, then one page per case. */
export function reportHtml(title: string, cases: ReadonlyArray<{ input: ReportCaseInput; rows: readonly ReportStructureRow[]; view3d?: string | null }>, summary: boolean, created = new Date()): string {
  const head = summary ? `
  <section class="summary">
    <h1>${esc(title)}</h1>
    <p class="muted">Osteon review report, ${esc(created.toISOString())}, ${cases.length} case(s).</p>
    <table><thead><tr><th>Case</th><th>Version</th><th>Run</th>${cases[0]?.input.structures.map((s) => `<th>${esc(s.name)} mL</th>`).join('') ?? ''}<th>Review</th></tr></thead><tbody>
    ${cases.map(({ input, rows }) => {
      const states = rows.map((r) => r.review?.state ?? 'unreviewed');
      const overall = states.includes('rejected') ? 'Rejected' : states.includes('needs-correction') ? 'Needs correction' : states.every((s) => s === 'accepted') ? 'Accepted' : states.every((s) => s === 'unreviewed') ? 'Unreviewed' : 'In review';
      return `<tr><td>${esc(input.caseName)}</td><td>${input.version ? `v${input.version.version}` : 'labels'}</td><td>${esc(input.runId ?? '–')}</td>${rows.map((r) => `<td class="n">${r.volumeMl.toFixed(2)}</td>`).join('')}<td>${overall}</td></tr>`;
    }).join('')}
    </tbody></table>
  </section>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><title>${esc(title)}</title><style>${CSS}</style></head>
<body>${head}${cases.map(({ input, rows, view3d }) => casePage(input, rows, view3d ?? null)).join('')}
</body></html>
`;
}
