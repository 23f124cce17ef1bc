/** The oneDNN addon's functions (src/addon.cc). Every buffer is a Float32Array. */
export interface DnnlAddon {
  /** op 0 forward (a=x, b=filter, out=y, bias read), 1 backward data (a=dy, b=filter, out=dx), 2 backward weights (a=x, b=dy, out=dfilter, bias=dbias written). */
  conv(op: 0 | 1 | 2, geometry: Int32Array, a: Float32Array, b: Float32Array, out: Float32Array, bias: Float32Array | null): void;
  convImpl(op: 0 | 1 | 2, geometry: Int32Array): string;
  maxPoolGrad(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  concatRows(outer: number, pieces: Float32Array[], widths: number[], dst: Float32Array): void;
  splitRows(outer: number, src: Float32Array, widths: number[], pieces: Float32Array[]): void;
  sumRows(rows: number, cols: number, x: Float32Array, out: Float32Array): void;
  /** op 0: out = a + b, 1: out = a * b, b being `cols` values repeated over `rows` rows of a. */
  binaryRows(op: 0 | 1, rows: number, cols: number, a: Float32Array, b: Float32Array, out: Float32Array): void;
  slice(inShape: number[], begin: number[], size: number[], src: Float32Array, dst: Float32Array): void;
  setNumThreads(n: number): void;
  numThreads(): number;
  version(): string;
  // i18c: whole-volume inference blending (src/accumulate.cc; app/learning/window-accumulate.ts)
  accumulateWindows(geometry: Int32Array, windows: Int32Array, values: Float32Array, weights: Float32Array | null, acc: Float32Array[], wsum: Float32Array): void;
  normalizeWeights(n: number, acc: Float32Array[], wsum: Float32Array): void;
}

/** The loaded addon, or null when it is not built or cannot load. */
export declare const addon: DnnlAddon | null;
/** Why `addon` is null, e.g. "addon not built: libdnnl-dev headers not found". */
export declare const loadError: string | null;
/** The .node file's path. */
export declare const file: string;
