import { formatIdList, isLabelmapSchema, parseIdList, withValues, type IdList, type SchemaLite } from '../lib/schemaEdit.ts';

export interface LabelValue {
  value: number;
  voxels: number;
  /** The id's name, when the host found one (e.g. TotalSegmentator's labels.json). */
  name?: string;
}

/** The import wizard's label-id mapping: the chosen schema, the ids found in the file, the user's edits. */
export class Mapping {
  #schema = $state.raw<SchemaLite | null>(null);
  #found = $state.raw<readonly LabelValue[] | null>(null);
  /** Per structure id, the ids as the user typed them. */
  texts = $state<Record<string, string>>({});

  get schema(): SchemaLite | null {
    return this.#schema;
  }

  get found(): readonly LabelValue[] | null {
    return this.#found;
  }

  /** Only label-map schemas map ids; masks and channels come one per structure. */
  get editable(): boolean {
    return this.#schema !== null && isLabelmapSchema(this.#schema);
  }

  setSchema(s: SchemaLite | null): void {
    this.#schema = s;
    const t: Record<string, string> = {};
    for (const st of s?.structures ?? []) if (st.source.kind === 'labelmap') t[st.id] = formatIdList(st.source.values);
    this.texts = t;
  }

  setFound(v: readonly LabelValue[] | null): void {
    this.#found = v;
  }

  parsed(id: string): IdList {
    return parseIdList(this.texts[id] ?? '');
  }

  /** Voxels the file has with any of the structure's ids (null until the file was scanned). */
  voxelsFor(id: string): number | null {
    const found = this.#found;
    const p = this.parsed(id);
    if (!found || !p.ok) return null;
    const set = new Set(p.values);
    return found.reduce((n, f) => n + (set.has(f.value) ? f.voxels : 0), 0);
  }

  /** Names of the structure's ids that the file names (e.g. "sacrum, vertebrae_S1"). */
  namesFor(id: string): string {
    const found = this.#found;
    const p = this.parsed(id);
    if (!found || !p.ok) return '';
    const set = new Set(p.values);
    return found.filter((f) => set.has(f.value) && f.name).map((f) => f.name).join(', ');
  }

  /** Ids the user listed that the file does not contain. */
  missing(id: string): number[] {
    const found = this.#found;
    const p = this.parsed(id);
    if (!found || !p.ok) return [];
    const have = new Set(found.map((f) => f.value));
    return p.values.filter((v) => !have.has(v));
  }

  /** Ids in the file that no structure uses. */
  get unused(): LabelValue[] {
    const used = new Set<number>();
    for (const id of Object.keys(this.texts)) {
      const p = this.parsed(id);
      if (p.ok) for (const v of p.values) used.add(v);
    }
    return (this.#found ?? []).filter((f) => !used.has(f.value));
  }

  get valid(): boolean {
    return Object.keys(this.texts).every((id) => this.parsed(id).ok);
  }

  /** The schema with the user's ids, or null while an entry is invalid. */
  get edited(): SchemaLite | null {
    const s = this.#schema;
    if (!s || !this.valid) return s && !this.editable ? s : null;
    const m = new Map<string, number[]>();
    for (const id of Object.keys(this.texts)) {
      const p = this.parsed(id);
      if (p.ok) m.set(id, p.values);
    }
    return withValues(s, m);
  }

  /** True when the user changed any ids from the schema file's. */
  get changed(): boolean {
    const s = this.#schema;
    if (!s) return false;
    return s.structures.some((st) => st.source.kind === 'labelmap' && formatIdList(st.source.values) !== (this.texts[st.id] ?? '').trim());
  }
}
