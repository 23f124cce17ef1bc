/**
 * The label schema ("osteon-labels/1"): which structures a study has, how each is built from
 * the source labels, and which one is the whole bone. Parsed with zod at the boundary; every
 * problem names the file and the JSON path of the field ("pelvis.json: structures[2].colour").
 *
 * Rules beyond the shape (checked in `checkRules`):
 * - at least one `part`; at most one `whole`. Zero wholes is a plain multi-class schema (the
 *   joint target is then unavailable); more than one whole is refused because "the whole" must
 *   be unambiguous for the joint head and for whole-vs-union analysis.
 * - parts, in file order, get class ids 1..K in the integer class map (0 = background), K <= 255.
 * - all structures use the same source kind, since one study supplies one kind of label file:
 *   a label map (`labelmap`), one mask file per structure (`mask`), or one multi-channel volume
 *   (`channel`).
 * - ids are unique; channel indices are unique.
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { OsteonError, badInput } from '../util/errors.ts';
import { LabelSchemaData as labelSchema, LabelSource as source, SCHEMA_TAG, StructureDef as structure } from '../contract/labels.ts';

export { SCHEMA_TAG };

export type LabelSchema = z.infer<typeof labelSchema>;
export type StructureDef = z.infer<typeof structure>;
export type LabelSource = z.infer<typeof source>;
export type SourceKind = LabelSource['kind'];
export type Role = StructureDef['role'];

function pathOf(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${String(p)}`;
  return s || '(top level)';
}

function checkRules(s: LabelSchema, file: string): void {
  const ids = new Set<string>();
  s.structures.forEach((st, i) => {
    if (ids.has(st.id)) throw badInput(file, `structures[${i}].id`, `duplicate id "${st.id}"`);
    ids.add(st.id);
  });
  const wholes = s.structures.filter((st) => st.role === 'whole');
  if (wholes.length > 1) {
    throw badInput(file, 'structures', `${wholes.length} structures have role "whole" (${wholes.map((w) => w.id).join(', ')}); at most one is allowed`);
  }
  const parts = s.structures.filter((st) => st.role === 'part').length;
  if (parts === 0) throw badInput(file, 'structures', 'no structure has role "part"; at least one is needed');
  if (parts > 255) throw badInput(file, 'structures', `${parts} parts; at most 255 fit a uint8 class map`);
  const kind = s.structures[0].source.kind;
  s.structures.forEach((st, i) => {
    if (st.source.kind !== kind) {
      throw badInput(file, `structures[${i}].source.kind`, `"${st.source.kind}" differs from structures[0] ("${kind}"); one schema uses one kind of source`);
    }
  });
  const channels = new Map<number, string>();
  s.structures.forEach((st, i) => {
    if (st.source.kind !== 'channel') return;
    const prev = channels.get(st.source.index);
    if (prev) throw badInput(file, `structures[${i}].source.index`, `channel ${st.source.index} is already used by "${prev}"`);
    channels.set(st.source.index, st.id);
  });
}

/** Parses schema JSON text; `file` names the source in error messages. */
export function parseLabelSchema(textIn: string, file: string): LabelSchema {
  if (textIn.length > MAX_SCHEMA_BYTES) throw badInput(file, '(file)', `${textIn.length} characters; a label schema is at most ${MAX_SCHEMA_BYTES}`);
  const text = stripBom(textIn);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw badInput(file, '(json)', `not valid JSON: ${(e as Error).message}`);
  }
  const r = labelSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem${r.error.issues.length > 2 ? 's' : ''})` : '';
    throw badInput(file, pathOf(issue.path), `${issue.message}${more}`);
  }
  checkRules(r.data, file);
  return r.data;
}

/** Validates an in-memory schema object (e.g. one built by code) with the same rules. */
export function validateLabelSchema(value: unknown, what = 'schema'): LabelSchema {
  return parseLabelSchema(JSON.stringify(value), what);
}

/** Largest schema (or label-name JSON) file read: 1 MiB; a real one is a few KiB. */
export const MAX_SCHEMA_BYTES = 1024 * 1024;

/** JSON text without a leading UTF-8 byte-order mark (Windows editors write one). */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export function loadLabelSchema(path: string): LabelSchema {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw badInput(path, '(file)', 'is not a regular file');
    if (st.size > MAX_SCHEMA_BYTES) throw badInput(path, '(file)', `${st.size} bytes; a label schema is at most ${MAX_SCHEMA_BYTES}`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof OsteonError) throw e;
    throw badInput(path, '(file)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'not-found');
  }
  return parseLabelSchema(text, path);
}

export function wholeOf(s: LabelSchema): StructureDef | undefined {
  return s.structures.find((st) => st.role === 'whole');
}

/** Parts in class order: parts()[k - 1] has class id k. */
export function partsOf(s: LabelSchema): StructureDef[] {
  return s.structures.filter((st) => st.role === 'part');
}

export function sourceKind(s: LabelSchema): SourceKind {
  return s.structures[0].source.kind;
}
