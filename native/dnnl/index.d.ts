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
  /** the head loss fused (src/loss.cc); dims {m,c,s,bceC0,bceN,ceC0,ceK,diceSigFrom,diceSoftFrom,0}, params {a,b,c,smoothNr,smoothDr}; out = [bce, ce, dice]. Absent in addons built before it. */
  lossFused?(dims: Int32Array, params: Float64Array, logits: Float32Array, targets: Float32Array | null, labels: Int32Array | null, posWeight: Float32Array | null, classWeight: Float32Array | null, grad: Float32Array | null, out: Float64Array): void;
  /** Adam over every tensor in one call (src/adam.cc): m, v in place, new weights to wOut; k = {lr, b1, b2, eps, 1-b1, 1-b2, 1-accBeta1, 1-accBeta2}. */
  adamFused?(w: Float32Array[], g: Float32Array[], m: Float32Array[], v: Float32Array[], wOut: Float32Array[], k: Float32Array): void;
  setNumThreads(n: number): void;
  numThreads(): number;
  version(): string;
  // fused network kernels (src/fused.cc, src/pool.cc)
  /** dyOut = dy·[y>0] and, when dbias is given, dbias[j] = Σ rows dyOut[row, j]; rows × cols channels-last. */
  reluBiasGrad(rows: number, cols: number, y: Float32Array, dy: Float32Array, dyOut: Float32Array, dbias: Float32Array | null): void;
  /** Max pool forward (oneDNN pooling), pool geometry as for maxPoolGrad. */
  maxPool(geometry: Int32Array, x: Float32Array, y: Float32Array): void;
  maxPoolImpl(geometry: Int32Array): string;
  /** Max pool backward vectorised over channels; dy to the first maximum of a window, or the last with lastMax (tfjs's cpu backend in 3D). */
  maxPoolGradV(geometry: Int32Array, x: Float32Array, dy: Float32Array, dx: Float32Array, lastMax: boolean): void;
  /** Softmax over the last axis of rows × cols. */
  softmax(rows: number, cols: number, x: Float32Array, y: Float32Array): void;
  /** reluBiasGrad writing over g (src/fused.cc reluBiasGrad with dyOut = dy; the native training step). Absent in addons built before it. */
  reluBiasGradInPlace?(rows: number, cols: number, y: Float32Array, g: Float32Array, dbias: Float32Array | null): void;
  // whole-volume inference blending (src/accumulate.cc; app/learning/window-accumulate.ts)
  accumulateWindows(geometry: Int32Array, windows: Int32Array, values: Float32Array, weights: Float32Array | null, acc: Float32Array[], wsum: Float32Array): void;
  normalizeWeights(n: number, acc: Float32Array[], wsum: Float32Array): void;
  // whole-network inference (src/infer_net.cc; app/learning/native/infer-net.ts). Absent in addons built before it.
  /** spec [nd, cin, cout, levels, filters..., headMode?], precision 0 f32 | 1 bf16, the U-Net's tensors in infer_net.cc's order. */
  inferNetCreate?(spec: Int32Array, precision: 0 | 1, params: Float32Array[]): object;
  /** shape [n, d, h, w] (d = 1 in 2D); x channels-last float32; out: logits, or probabilities with a head mode. */
  inferNetForward?(net: object, shape: Int32Array, x: Float32Array, out: Float32Array): void;
  inferNetImpl?(net: object, shape: Int32Array): string;
  inferNetRelease?(net: object): void;
  /** predict.ts binarizeInto on every thread: kind 0 sigmoid | 1 joint | 2 softmax; writes masks[k][at, at + n). */
  thresholdSlab?(kind: 0 | 1 | 2, hasWhole: boolean, probs: Float32Array[], thresholds: Float64Array, masks: Uint8Array[], at: number): void;
  /** oneDNN's effective ISA, e.g. "avx512_core_amx". */
  cpuIsa?(): string;
}

/** The loaded addon, or null when it is not built or cannot load. */
export declare const addon: DnnlAddon | null;
/** Why `addon` is null, e.g. "addon not built: libdnnl-dev headers not found". */
export declare const loadError: string | null;
/** The .node file's path. */
export declare const file: string;
