export type VoxelData = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

export interface LoadedVolume {
  dims: [number, number, number];
  spacing: [number, number, number];
  /** World (LPS mm) position of voxel (0,0,0); absent in older callers. */
  origin?: [number, number, number];
  direction: readonly number[];
  channels: number;
  data: VoxelData;
  /**
   * Set by a Review edit (review/review.svelte.ts): this object wraps the same buffer as the
   * previous labels, with edit number `seq` (1, 2, … per edit session) changing only `channels`.
   * The 3D view then rebuilds only those structures' surfaces, when it saw edit `seq − 1`.
   */
  edit?: { seq: number; channels: readonly number[] };
}

/** The selected case's voxels, for the slice previews. */
export interface CaseImages {
  caseId: string;
  ct: LoadedVolume;
  labels: LoadedVolume | null;
  /** A predicted label map attached to the case (compare mode), when there is one. */
  prediction?: LoadedVolume | null;
}

/**
 * Holds the voxels of the case on screen. Megabytes of typed arrays must not become deeply
 * reactive proxies, so the whole bundle lives in `$state.raw` and is replaced, never mutated.
 */
export class ImageStore {
  #images = $state.raw<CaseImages | null>(null);
  #loading = $state(false);
  #note = $state<string | null>(null);
  #generation = 0;

  get images(): CaseImages | null {
    return this.#images;
  }

  get loading(): boolean {
    return this.#loading;
  }

  /** Why there is nothing to show (no case, no voxels served, a load error). */
  get note(): string | null {
    return this.#note;
  }

  /** Runs `load`; a newer call wins if the user switches cases while one is loading. */
  async show(load: () => Promise<CaseImages | null>, noteIfNone: string): Promise<void> {
    const gen = ++this.#generation;
    this.#loading = true;
    this.#note = null;
    try {
      const imgs = await load();
      if (gen !== this.#generation) return;
      this.#images = imgs;
      this.#note = imgs ? null : noteIfNone;
    } catch (e) {
      if (gen !== this.#generation) return;
      this.#images = null;
      this.#note = `Could not load the voxels: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      if (gen === this.#generation) this.#loading = false;
    }
  }

  /** Shows other voxels of the same case at once (the Review panel: a version, the edit's working copy, a difference). */
  replace(imgs: CaseImages): void {
    this.#generation++;
    this.#images = imgs;
    this.#loading = false;
    this.#note = null;
  }

  clear(note: string | null = null): void {
    this.#generation++;
    this.#images = null;
    this.#loading = false;
    this.#note = note;
  }
}
