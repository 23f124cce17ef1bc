/**
 * The label schema (osteon-labels/1, app/labels/schema.ts) as the renderer sees it: parsed
 * loosely at this boundary (the host validates it strictly on import), and edited only in the
 * one place the import wizard allows — which label ids make up each structure.
 */
import { z } from 'zod';
import type { StructureLite } from './overlays.ts';

const source = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('labelmap'), values: z.array(z.number().int()) }),
  z.object({ kind: z.literal('mask'), file: z.string().nullable().optional() }),
  z.object({ kind: z.literal('channel'), index: z.number().int() }),
]);

const schemaLite = z.object({
  schema: z.string(),
  name: z.string(),
  description: z.string().optional(),
  structures: z.array(z.object({
    id: z.string(),
    name: z.string(),
    colour: z.string(),
    role: z.enum(['whole', 'part']),
    source,
  })),
});

export type SchemaLite = z.infer<typeof schemaLite>;

export function parseSchema(raw: unknown): SchemaLite | null {
  const r = schemaLite.safeParse(raw);
  return r.success ? r.data : null;
}

/** Structures with their colours and, for a label map, their ids (for the slice overlay). */
export function structuresOf(s: SchemaLite): StructureLite[] {
  return s.structures.map((st) => ({
    id: st.id,
    colour: st.colour,
    role: st.role,
    values: st.source.kind === 'labelmap' ? st.source.values : undefined,
  }));
}

export function isLabelmapSchema(s: SchemaLite): boolean {
  return s.structures.every((st) => st.source.kind === 'labelmap');
}

export type IdList = { ok: true; values: number[] } | { ok: false; problem: string };

/** "25, 26 77-78" → [25, 26, 77, 78]: ids separated by commas or spaces, a-b for ranges. */
export function parseIdList(text: string): IdList {
  const out = new Set<number>();
  for (const tok of text.split(/[\s,;]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(tok);
    if (!m) return { ok: false, problem: `"${tok}" is not a label id or a range like 27-31` };
    const a = Number(m[1]), b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b - a > 1000) return { ok: false, problem: `range "${tok}" is reversed or too long` };
    if (b > 65535) return { ok: false, problem: `label id ${b} is above 65535` };
    for (let v = a; v <= b; v++) out.add(v);
  }
  if (out.size === 0) return { ok: false, problem: 'at least one label id is needed' };
  return { ok: true, values: [...out].sort((x, y) => x - y) };
}

export function formatIdList(values: readonly number[]): string {
  return values.join(', ');
}

/** A copy of `s` whose label-map structures take the ids in `values` (by structure id). */
export function withValues(s: SchemaLite, values: ReadonlyMap<string, readonly number[]>): SchemaLite {
  return {
    ...s,
    structures: s.structures.map((st) => {
      const v = values.get(st.id);
      return st.source.kind === 'labelmap' && v ? { ...st, source: { kind: 'labelmap' as const, values: [...v] } } : st;
    }),
  };
}
