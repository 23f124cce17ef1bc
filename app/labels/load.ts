/**
 * Reads a study's label files into a LabelSet, checking each against the CT's grid.
 *
 * Which files feed which structure:
 * - schema with `labelmap` sources: exactly one label file (the integer label map);
 * - schema with `channel` sources: exactly one multi-channel file;
 * - schema with `mask` sources: one binary mask per structure, from `--map id=file` first, then
 *   the positional files in schema order for the structures not mapped, then the schema's own
 *   `source.file` (relative to the schema file);
 * - no schema: one label map → one part per label value present (no whole); one multi-channel
 *   file → one part per channel; several files → one part per mask file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readVolume } from '../imaging/io.ts';
import { isDicomSegFile, readDicomSeg, segToLabelSet } from '../exchange/dicom-seg-read.ts';
import type { LoadedVolume } from '../imaging/io.ts';
import type { Geometry } from '../imaging/volume.ts';
import { geometryOf, voxelCount } from '../imaging/volume.ts';
import { requireBinaryMask, requireLabels } from '../imaging/checks.ts';
import { requireSameGrid } from '../imaging/resample.ts';
import { badInput, usageError } from '../util/errors.ts';
import type { LabelSet } from './labelset.ts';
import { fromChannels, fromLabelMap, fromMasks } from './labelset.ts';
import type { LabelSchema, StructureDef } from './schema.ts';
import { resolveDataFile } from '../imaging/files.ts';
import { MAX_SCHEMA_BYTES, sourceKind, stripBom, validateLabelSchema } from './schema.ts';

export interface LabelInputs {
  /** Positional label files. */
  files: string[];
  schema: LabelSchema | null;
  /** Where the schema came from (relative mask paths resolve against its folder). */
  schemaPath: string | null;
  /** `--map id=file` pairs. */
  map: Record<string, string>;
}

export interface LoadedLabels {
  set: LabelSet;
  /** The file each structure was read from. */
  files: string[];
  warnings: string[];
}

/** Colours for generated schemas, readable on a dark background. */
const PALETTE = ['#4FC3F7', '#FFB74D', '#AED581', '#F48FB1', '#B39DDB', '#FFF176', '#80CBC4', '#FF8A65', '#90A4AE', '#CE93D8'];

/** Reads a label file and refuses it unless it is on the CT's grid (both geometries shown). */
function read(file: string, ref: Geometry, refFile: string): LoadedVolume {
  const v = readVolume(file);
  requireSameGrid(ref, v, refFile, file);
  return v;
}

function autoSchema(structures: StructureDef[], description: string): LabelSchema {
  return validateLabelSchema({ schema: 'osteon-labels/1', name: 'auto', description, structures }, 'generated schema');
}

function idFromFile(file: string, used: Set<string>): string {
  let id = basename(file).replace(/\.(nii\.gz|nii|nrrd|seg\.nrrd|mha|mhd)$/i, '').toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^[^a-z]+/, '');
  if (!id) id = 'mask';
  id = id.slice(0, 40);
  let k = 2, out = id;
  while (used.has(out)) out = `${id}_${k++}`;
  used.add(out);
  return out;
}

/**
 * Names for label values from a `labels.json` beside the label map, the id → name map that
 * TotalSegmentator-style datasets ship (`{"labels": {"25": "sacrum", ...}}`). Optional: a missing
 * or unreadable file just leaves the names generic (with a warning for the unreadable case).
 */
function siblingNames(file: string, warnings: string[]): Map<number, string> {
  const p = join(dirname(file), 'labels.json');
  const names = new Map<number, string>();
  if (!existsSync(p)) return names;
  try {
    if (statSync(p).size > MAX_SCHEMA_BYTES) throw new Error(`over ${MAX_SCHEMA_BYTES} bytes`);
    const doc = JSON.parse(stripBom(readFileSync(p, 'utf8'))) as { labels?: unknown };
    if (doc.labels && typeof doc.labels === 'object') {
      for (const [k, v] of Object.entries(doc.labels)) if (/^\d+$/.test(k) && typeof v === 'string') names.set(Number(k), v);
    }
  } catch (e) {
    warnings.push(`labels.json beside ${basename(file)} ignored: ${(e as Error).message}`);
  }
  return names;
}

function labelMapSchema(vol: LoadedVolume, file: string, warnings: string[]): LabelSchema {
  const seen = new Set<number>();
  for (let v = 0; v < vol.data.length; v++) {
    const x = vol.data[v];
    if (x !== 0) seen.add(x);
  }
  const values = [...seen].sort((a, b) => a - b);
  if (values.length === 0) throw badInput(file, 'data', 'the label map is empty (all zero); nothing to inspect');
  const bad = values.find((x) => !Number.isInteger(x) || x < 0 || x > 65535);
  if (bad !== undefined) throw badInput(file, 'data', `value ${bad} is not a label (expected integers 0..65535)`);
  if (values.length > 255) throw badInput(file, 'data', `${values.length} distinct labels; at most 255 parts fit a class map (give a --schema)`);
  const names = siblingNames(file, warnings);
  const used = new Set<string>();
  const idOf = (x: number): string => {
    const slug = (names.get(x) ?? '').toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 48);
    const id = slug && !used.has(slug) ? slug : `label_${x}`;
    used.add(id);
    return id;
  };
  return autoSchema(values.map((x, i) => ({
    id: idOf(x), name: names.get(x) ?? `Label ${x}`, colour: PALETTE[i % PALETTE.length], role: 'part', source: { kind: 'labelmap', values: [x] },
  })), `one part per label value found in ${basename(file)}${names.size ? ' (names from labels.json)' : ''}`);
}

function maskFiles(schema: LabelSchema, inputs: LabelInputs): string[] {
  const ids = new Set(schema.structures.map((s) => s.id));
  for (const id of Object.keys(inputs.map)) {
    if (!ids.has(id)) throw usageError(`--map ${id}=...: no structure "${id}" in schema "${schema.name}" (has ${[...ids].join(', ')})`);
  }
  const schemaPath = inputs.schemaPath;
  // A schema file names its masks relative to its own folder, and they must stay inside it.
  const schemaFile = (s: StructureDef): string | null => {
    if (s.source.kind !== 'mask' || !s.source.file) return null;
    if (schemaPath) return resolveDataFile(schemaPath, s.source.file, `structures[${schema.structures.indexOf(s)}].source.file`);
    // A schema without a file of its own (sent inline) has no folder to name files in.
    throw badInput('inline schema', `structures[${schema.structures.indexOf(s)}].source.file`, 'a schema without a file of its own may not name mask files; give the masks as label files');
  };
  const mapped = (id: string) => (Object.hasOwn(inputs.map, id) ? inputs.map[id] : undefined);
  const unmapped = schema.structures.filter((s) => mapped(s.id) === undefined);
  const withoutFile = unmapped.filter((s) => !schemaFile(s));
  const n = inputs.files.length;
  // Positional files fill, in schema order, either every structure not given by --map, or only
  // those that also lack a schema file (so a schema can name some masks and the command line the rest).
  const targets = n === unmapped.length ? unmapped : n === withoutFile.length ? withoutFile : null;
  if (!targets) {
    const need = withoutFile.length === unmapped.length ? `${unmapped.length}` : `${withoutFile.length} (${withoutFile.map((s) => s.id).join(', ') || 'none'}) or ${unmapped.length}`;
    throw usageError(`${n} mask files for ${need} structures of schema "${schema.name}" not given by --map; give one mask per structure`);
  }
  const positional = new Map(targets.map((s, i) => [s.id, inputs.files[i]]));
  return schema.structures.map((s) => {
    const file = mapped(s.id) ?? positional.get(s.id) ?? schemaFile(s);
    if (!file) throw usageError(`no mask file for structure "${s.id}": give it as a positional file, as --map ${s.id}=FILE, or as source.file in the schema`);
    return file;
  });
}

function loadMasks(schema: LabelSchema, files: string[], ref: Geometry, refFile: string, warnings: string[]): LabelSet {
  const vols = files.map((f) => {
    const v = read(f, ref, refFile);
    warnings.push(...v.warnings.map((w) => `${basename(f)}: ${w}`));
    if (v.channels !== 1) throw badInput(f, 'channels', `${v.channels} channels; a mask file holds one binary mask`);
    requireBinaryMask(v, f);
    return v.data;
  });
  return fromMasks(schema, geometryOf(ref), vols, files);
}

/** Present non-zero values of a label map, for the "wrong schema?" message (first 20). */
function presentValues(data: ArrayLike<number>): string {
  const seen = new Set<number>();
  for (let v = 0; v < data.length; v++) if (data[v] !== 0) seen.add(data[v]);
  const list = [...seen].sort((a, b) => a - b);
  return list.length === 0 ? 'none (all zero)' : list.slice(0, 20).join(', ') + (list.length > 20 ? `, ... (${list.length} in all)` : '');
}

/** A schema none of whose structures occur is almost surely the wrong schema for the file. */
function requireSomeLabels(set: LabelSet, file: string, data: ArrayLike<number> | null, what = 'this file'): void {
  if (set.masks.some((m) => m.includes(1))) return;
  const values = data ? `; label values present: ${presentValues(data)}` : '';
  throw badInput(file, 'data', `none of the structures of schema "${set.schema.name}" occur in ${what}${values}. Wrong schema?`);
}

/**
 * A DICOM SEG as the labels: its segments placed on the CT grid (overlaps kept) and matched to
 * the schema's structures by label / description; without a schema, one part per segment.
 */
function loadSeg(file: string, schema: LabelSchema | null, ref: Geometry): LoadedLabels {
  const grid = geometryOf(ref);
  const seg = readDicomSeg(file, grid);
  const used = new Set<string>();
  const s = schema ?? autoSchema(seg.segments.map((x, i) => {
    let id = x.label.toLowerCase().replace(/[^a-z0-9_-]+/g, '_').replace(/^[^a-z]+/, '').slice(0, 40) || 'segment';
    while (used.has(id)) id = `${id}_${i + 1}`;
    used.add(id);
    return { id, name: x.label.slice(0, 80) || `Segment ${x.number}`, colour: PALETTE[i % PALETTE.length], role: 'part' as const, source: { kind: 'mask' as const, file: null } };
  }), `one part per segment of ${basename(file)}`);
  return { set: segToLabelSet(file, seg, s, grid), files: s.structures.map(() => file), warnings: [] };
}

/** Loads the label files against the CT grid `ref` (read from `refFile`). */
export function loadLabels(inputs: LabelInputs, ref: Geometry, refFile: string): LoadedLabels {
  const warnings: string[] = [];
  const { schema } = inputs;
  if (inputs.files.length === 1 && isDicomSegFile(inputs.files[0])) return loadSeg(inputs.files[0], schema, ref);
  if (!schema) {
    if (inputs.files.length === 0) throw usageError('no label files given');
    if (Object.keys(inputs.map).length > 0) throw usageError('--map needs a --schema with mask sources');
    if (inputs.files.length > 1) {
      const used = new Set<string>();
      const auto = autoSchema(inputs.files.map((f, i) => ({
        id: idFromFile(f, used), name: basename(f), colour: PALETTE[i % PALETTE.length], role: 'part', source: { kind: 'mask', file: null },
      })), 'one part per mask file');
      return { set: loadMasks(auto, inputs.files, ref, refFile, warnings), files: inputs.files, warnings };
    }
    const file = inputs.files[0];
    const v = read(file, ref, refFile);
    warnings.push(...v.warnings.map((w) => `${basename(file)}: ${w}`));
    if (v.channels > 1) {
      requireBinaryMask(v, file);
      const auto = autoSchema(Array.from({ length: v.channels }, (_, c) => ({
        id: `channel_${c}`, name: `Channel ${c}`, colour: PALETTE[c % PALETTE.length], role: 'part', source: { kind: 'channel', index: c },
      })), `one part per channel of ${basename(file)}`);
      return { set: fromChannels(auto, geometryOf(ref), v.data, v.channels, file), files: auto.structures.map(() => file), warnings };
    }
    requireLabels(v, file);
    const auto = labelMapSchema(v, file, warnings);
    return { set: fromLabelMap(auto, geometryOf(ref), v.data, file), files: auto.structures.map(() => file), warnings };
  }
  const kind = sourceKind(schema);
  switch (kind) {
    case 'labelmap':
    case 'channel': {
      if (Object.keys(inputs.map).length > 0) throw usageError(`--map is for schemas with mask sources; "${schema.name}" reads a ${kind === 'labelmap' ? 'label map' : 'multi-channel volume'}`);
      if (inputs.files.length !== 1) {
        throw usageError(`schema "${schema.name}" reads one ${kind === 'labelmap' ? 'label map' : 'multi-channel volume'}; got ${inputs.files.length} label files`);
      }
      const file = inputs.files[0];
      const v = read(file, ref, refFile);
      warnings.push(...v.warnings.map((w) => `${basename(file)}: ${w}`));
      if (kind === 'labelmap' && v.channels > 1 && v.channels === schema.structures.length) {
        // Osteon's masks layout (segmentation versions, a SEG imported into a case): one 0/1
        // channel per structure in schema order, overlaps kept, whatever the schema's source kind.
        requireBinaryMask(v, file);
        const inOrder = { ...schema, structures: schema.structures.map((st, index) => ({ ...st, source: { kind: 'channel' as const, index } })) };
        const set = fromChannels(inOrder, geometryOf(ref), v.data, v.channels, file);
        return { set: { ...set, schema }, files: schema.structures.map(() => file), warnings };
      }
      if (kind === 'labelmap' && v.data.length !== voxelCount(v)) {
        throw badInput(file, 'channels', `${v.channels} channels; schema "${schema.name}" expects a single-channel label map`);
      }
      if (kind === 'labelmap') requireLabels(v, file);
      else requireBinaryMask(v, file);
      const set = kind === 'labelmap'
        ? fromLabelMap(schema, geometryOf(ref), v.data, file)
        : fromChannels(schema, geometryOf(ref), v.data, v.channels, file);
      requireSomeLabels(set, file, kind === 'labelmap' ? v.data : null);
      return { set, files: schema.structures.map(() => file), warnings };
    }
    case 'mask': {
      const files = maskFiles(schema, inputs);
      const set = loadMasks(schema, files, ref, refFile, warnings);
      requireSomeLabels(set, files[0], null, `any of the ${files.length} mask files (all empty)`);
      return { set, files, warnings };
    }
    default: {
      const never: never = kind;
      throw new Error(`unhandled source kind ${String(never)}`);
    }
  }
}
