/**
 * What the import wizard asks before anything is imported: the bundled label schemas, the label
 * ids a file holds (so the user can map them onto a schema), and the label analysis for a
 * mapping. Read-only: nothing is written and the sources are only read.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireLabels } from '../imaging/checks.ts';
import { readVolume } from '../imaging/io.ts';
import { geometryOf, voxelCount } from '../imaging/volume.ts';
import { analyzeLabels } from '../labels/analysis.ts';
import { loadLabels } from '../labels/load.ts';
import { parseLabelSchema, validateLabelSchema, type LabelSchema } from '../labels/schema.ts';
import { LabelAnalysisData, toWire } from '../contract/labels.ts';
import { badInput } from '../util/errors.ts';

/** resources/presets of a source checkout (a packaged app passes its own folder). */
export const defaultPresetsDir = fileURLToPath(new URL('../../resources/presets/', import.meta.url));

/** More distinct ids than this is not a label map (a CT given as labels, most likely). */
export const MAX_LABEL_VALUES = 4096;

export interface PresetInfo {
  path: string;
  schema: LabelSchema;
}

/** Every valid osteon-labels/1 file in `dir`, by file name; broken files are skipped. */
export function listPresets(dir: string): PresetInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: PresetInfo[] = [];
  for (const n of names) {
    const path = join(dir, n);
    try {
      out.push({ path, schema: parseLabelSchema(readFileSync(path, 'utf8'), path) });
    } catch {
      // One broken preset must not hide the good ones; `osteon inspect --schema` reports it.
    }
  }
  return out;
}

export interface LabelValue {
  value: number;
  voxels: number;
  /** From a `labels.json` beside the file (`{"labels": {"25": "sacrum", ...}}`), when there is one. */
  name?: string;
}

export interface LabelScan {
  dims: [number, number, number];
  channels: number;
  /** Label map: each non-zero id and its voxels. Multi-channel: each channel and its non-zero voxels. */
  values: LabelValue[];
}

/** The id → name map of a `labels.json` next to a label file (TotalSegmentator ships one), or {}. */
function labelNames(file: string): Record<string, string> {
  try {
    const raw: unknown = JSON.parse(readFileSync(join(dirname(file), 'labels.json'), 'utf8'));
    const labels = (raw as { labels?: unknown }).labels;
    if (typeof labels !== 'object' || labels === null) return {};
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v.slice(0, 200);
    return out;
  } catch {
    return {};
  }
}

export function scanLabels(file: string): LabelScan {
  const v = readVolume(file);
  const n = voxelCount(v);
  if (v.channels > 1) {
    const values = Array.from({ length: v.channels }, (_, c) => {
      let k = 0;
      for (let i = c * n; i < (c + 1) * n; i++) if (v.data[i] !== 0) k++;
      return { value: c, voxels: k };
    });
    return { dims: v.dims, channels: v.channels, values };
  }
  requireLabels(v, file);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = v.data[i];
    if (x === 0) continue;
    counts.set(x, (counts.get(x) ?? 0) + 1);
    if (counts.size > MAX_LABEL_VALUES) {
      throw badInput(file, 'data', `more than ${MAX_LABEL_VALUES} distinct values; this looks like an image, not a label map`);
    }
  }
  const names = labelNames(file);
  const values = [...counts].sort((a, b) => a[0] - b[0])
    .map(([value, voxels]): LabelValue => (names[value] ? { value, voxels, name: names[value] } : { value, voxels }));
  return { dims: v.dims, channels: 1, values };
}

/** The label analysis of `labels` under an inline schema, on the CT's grid (checked, as on import). */
export function previewLabels(ct: string, labels: string, schema: unknown): LabelAnalysisData {
  const s = validateLabelSchema(schema, 'schema');
  const ctVol = readVolume(ct);
  const loaded = loadLabels({ files: [labels], schema: s, schemaPath: null, map: {} }, geometryOf(ctVol), ct);
  return LabelAnalysisData.parse(toWire(analyzeLabels(loaded.set)));
}

/** A case's copied schema.json, or undefined when it is missing or not a valid schema (the case still opens). */
export function readCaseSchema(dir: string, file: string): LabelSchema | undefined {
  try {
    return parseLabelSchema(readFileSync(join(dir, file), 'utf8'), join(dir, file));
  } catch {
    return undefined;
  }
}

/**
 * A case's analysis.json as the contract types it; a file that does not parse (written by an
 * older version, damaged) gives null and the reason, so the case still opens.
 */
export function analysisOf(raw: unknown, file: string): { analysis: LabelAnalysisData | null; note?: string } {
  if (raw === null) return { analysis: null };
  const r = LabelAnalysisData.safeParse(raw);
  if (r.success) return { analysis: r.data };
  const i = r.error.issues[0];
  return { analysis: null, note: `${file}: ${i.path.join('.') || '(top level)'}: ${i.message}; import the case again to recompute it` };
}

/** resources/sample of a source checkout. */
export const defaultSampleDir = fileURLToPath(new URL('../../resources/sample/', import.meta.url));

export interface FileEntry {
  name: string;
  path: string;
  kind: 'file' | 'dir';
  size: number;
}

export interface Listing {
  dir: string | null;
  parent: string | null;
  entries: FileEntry[];
}

const MAX_ENTRIES = 2000;

/**
 * A folder's entries, only inside `roots` (the browser host's file picker must not become a
 * way to browse the whole disk). Symlinks are resolved before the check. No `dir`: the roots.
 */
export function listFiles(rootsIn: readonly string[], dir?: string): Listing {
  const roots = rootsIn.filter((r) => existsSync(r)).map((r) => realpathSync(r));
  if (dir === undefined) {
    return { dir: null, parent: null, entries: roots.map((r) => ({ name: r, path: r, kind: 'dir' as const, size: 0 })) };
  }
  let real: string;
  try {
    real = realpathSync(resolve(dir));
  } catch {
    throw badInput(dir, 'dir', 'no such folder', 'not-found');
  }
  const root = roots.find((r) => real === r || real.startsWith(r + sep));
  if (!root) throw badInput(dir, 'dir', 'outside the folders this host may list (the samples, the presets, the open project)', 'usage');
  const entries: FileEntry[] = [];
  for (const d of readdirSync(real, { withFileTypes: true })) {
    if (d.name.startsWith('.') || entries.length >= MAX_ENTRIES) continue;
    const path = join(real, d.name);
    try {
      const st = statSync(path);
      entries.push({ name: d.name, path, kind: st.isDirectory() ? 'dir' : 'file', size: st.isDirectory() ? 0 : st.size });
    } catch {
      // A dangling link or a file removed meanwhile: not listed.
    }
  }
  entries.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  return { dir: real, parent: real === root ? null : dirname(real), entries };
}
