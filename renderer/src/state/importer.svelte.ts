import type { OsteonClient } from '../lib/contract.ts';
import type { SchemaLite } from '../lib/schemaEdit.ts';
import type { JobView, Jobs } from './jobs.svelte.ts';
import type { LabelValue } from './mapping.svelte.ts';

export interface ImportRequest {
  ct: string;
  labels: string;
  schema: string;
  name: string;
  /** A DICOM folder with several series: the chosen one ('' = the only one). */
  seriesUid?: string;
}

/** One image series of a DICOM folder (dicom.series). */
export interface SeriesChoice {
  uid: string;
  number: string;
  description: string;
  modality: string;
  slices: number;
  rows: number;
  columns: number;
  spacing: [number, number, number] | null;
  transferSyntaxName: string;
  problem: string | null;
}

/** A folder listing from the host (files.list). */
export interface Listing {
  dir: string | null;
  parent: string | null;
  entries: Array<{ name: string; path: string; kind: 'file' | 'dir'; size: number }>;
}

export interface Preset {
  path: string;
  schema: SchemaLite;
}

/**
 * What the host can do for the wizard beyond a plain import. Each is optional: the wizard
 * degrades to "type the paths, see the analysis after import" when the host lacks one.
 */
export interface ImportHelpers {
  /** Bundled label schemas (resources/presets). */
  presets?: () => Promise<Preset[]>;
  /** The distinct label ids of a label file with their voxel counts. */
  scan?: (labels: string) => Promise<LabelValue[]>;
  /** The label analysis for a mapping, computed without importing. */
  preview?: (r: { ct: string; labels: string; schema: SchemaLite }) => Promise<unknown>;
  /** Whether case.import takes an edited schema inline. */
  importInline?: boolean;
  /** The image series of a DICOM folder, to pick one when it holds several. */
  series?: (path: string) => Promise<SeriesChoice[]>;
  /** The host's folder listing, for hosts without a native file dialog (the browser host). */
  list?: (dir?: string) => Promise<Listing>;
}

/** The import wizard's job: started here, followed through the shared Jobs list. */
export class Importer {
  #jobId = $state<string | null>(null);
  readonly #jobs: Jobs;
  readonly #client: () => OsteonClient | null;

  constructor(jobs: Jobs, client: () => OsteonClient | null) {
    this.#jobs = jobs;
    this.#client = client;
  }

  get job(): JobView | null {
    return this.#jobs.all.find((j) => j.jobId === this.#jobId) ?? null;
  }

  /** Starts the import; `inline` (the user's edited schema) replaces the schema file. */
  async start(r: ImportRequest, inline: SchemaLite | null = null): Promise<void> {
    const client = this.#client();
    if (!client) throw Object.assign(new Error('not connected to the Osteon host'), { code: 'disconnected' });
    this.#jobId = null;
    const opt = (s: string): string | undefined => (s.trim() ? s.trim() : undefined);
    const schema = inline ? { schemaInline: inline } : { schema: opt(r.schema) };
    const series = r.seriesUid ? { seriesUid: r.seriesUid } : {};
    const { jobId } = await client.call('case.import', { ct: r.ct.trim(), labels: opt(r.labels), name: opt(r.name), ...schema, ...series });
    this.#jobs.track(jobId, 'case.import');
    this.#jobId = jobId;
  }

  async cancel(): Promise<void> {
    if (this.#jobId) await this.#jobs.cancel(this.#jobId);
  }
}
