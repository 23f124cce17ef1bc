/**
 * The whole U-Net forward pass for inference as one oneDNN addon call (native/dnnl/src/infer_net.cc),
 * in float32 or in bf16 (bf16 activations and weights, float32 accumulation, bias and logits).
 * The activations stay in oneDNN's own layouts from the first convolution to the head, instead of
 * going back to tfjs's channels-last tensors on the wasm heap after every op.
 *
 * Inference precision is a choice recorded with every prediction (infer.ts `InferencePrecision`):
 * - `fp32`: the model's tfjs forward pass on the active backend (what training validates with);
 * - `bf16`: this native pass in bf16, where oneDNN has bf16 instructions on this CPU (AMX on
 *   Sapphire Rapids and later, AVX512-BF16 on Cooper Lake and Zen 4). Refused elsewhere: oneDNN
 *   would emulate bf16 there, slower than float32;
 * - `auto`: bf16 where it is native and the windows run on the CPU rung wasm+dnnl, else fp32.
 */
import type { UNetConfig, Params } from '../model/unet.ts';
import type { HeadConfig } from '../heads.ts';
import type { WindowRunner } from '../predict.ts';
import { loadNative } from './addon.ts';
import { OsteonError } from '../../util/errors.ts';
import { profileSpan } from '../profile.ts';

/** The addon's entry points (infer_net.cc). Absent in addons built before them. */
export interface InferNetAddon {
  inferNetCreate(spec: Int32Array, precision: 0 | 1, params: Float32Array[]): object;
  inferNetForward(net: object, shape: Int32Array, x: Float32Array, logits: Float32Array): void;
  inferNetImpl(net: object, shape: Int32Array): string;
  inferNetRelease(net: object): void;
  cpuIsa(): string;
  thresholdSlab(kind: 0 | 1 | 2, hasWhole: boolean, probs: Float32Array[], thresholds: Float64Array, masks: Uint8Array[], at: number): void;
}

export type InferencePrecision = 'fp32' | 'bf16';
export type PrecisionChoice = InferencePrecision | 'auto';
export const precisionChoices: readonly PrecisionChoice[] = ['auto', 'fp32', 'bf16'];

/** oneDNN ISAs with bf16 instructions (dnnl::cpu_isa). */
const BF16_ISAS = new Set(['avx512_core_amx', 'avx512_core_bf16']);

function inferNetAddon(): InferNetAddon | null {
  const a = loadNative().addon as Partial<InferNetAddon> | null;
  return a && typeof a.inferNetCreate === 'function' && typeof a.cpuIsa === 'function' ? (a as InferNetAddon) : null;
}

/** Whether this machine can run the native bf16 pass, and if not, why. `isa` is oneDNN's effective ISA. */
export function bf16Support(): { ok: boolean; isa: string | null; reason: string | null } {
  const st = loadNative();
  const a = inferNetAddon();
  if (!a) return { ok: false, isa: null, reason: st.addon ? 'the oneDNN addon was built without the whole-network inference entry points (rebuild native/dnnl)' : `the oneDNN addon is not available (${st.reason ?? 'unknown reason'})` };
  const isa = a.cpuIsa();
  if (!BF16_ISAS.has(isa)) return { ok: false, isa, reason: `this CPU has no bf16 instructions oneDNN can use (its ISA: ${isa}; bf16 needs AVX512-BF16 or AMX)` };
  return { ok: true, isa, reason: null };
}

/** Why `model` cannot run in the native pass, or null when it can. */
export function nativeNetUnsupported(model: UNetConfig): string | null {
  if (model.normalization !== 'none') return `the model uses ${model.normalization} normalisation, which the native inference pass does not implement`;
  return null;
}

/** Parameter names in the addon's order (infer_net.cc InferNet::params). */
function paramOrder(model: UNetConfig): string[] {
  const L = model.filters.length;
  const names: string[] = [];
  for (let l = 0; l < L; l++) names.push(`enc${l}.conv0.w`, `enc${l}.conv0.b`, `enc${l}.conv1.w`, `enc${l}.conv1.b`);
  for (let l = L - 2; l >= 0; l--) names.push(`dec${l}.up.w`, `dec${l}.up.b`, `dec${l}.conv0.w`, `dec${l}.conv0.b`, `dec${l}.conv1.w`, `dec${l}.conv1.b`);
  names.push('head.w', 'head.b');
  return names;
}

/**
 * A window runner giving logits (or probabilities) from the native pass, and `release` to free it
 * (its activations) at once. `run`'s array is reused: it is valid until the next `run`.
 */
export interface NativeNetRunner extends WindowRunner {
  precision: InferencePrecision;
  /** oneDNN's effective ISA, e.g. "avx512_core_amx". */
  isa: string;
  /** The primitives of the last window shape and oneDNN's implementation of each. */
  impl(): string;
  release(): void;
}

/**
 * The native pass for `params` of `model` at `precision`; throws OsteonError `unsupported` where it
 * cannot run. With `headMode` (window-accumulate.ts HEAD_MODE, not 0) the pass also applies the
 * head's activation (vectorised, native) and gives structure probabilities instead of logits.
 */
export function nativeNetWindows(params: Params, model: UNetConfig, precision: InferencePrecision, headMode = 0): NativeNetRunner {
  const a = inferNetAddon();
  const why = !a ? bf16Support().reason : nativeNetUnsupported(model) ?? (precision === 'bf16' ? bf16Support().reason : null);
  if (!a || why) throw new OsteonError({ code: 'unsupported', message: `${precision} inference in the native pass is not available: ${why}` });
  const tensors = paramOrder(model).map((n) => {
    const v = params.get(n);
    if (!v) throw new Error(`U-Net parameter ${n} is missing`);
    return v.dataSync() as Float32Array;
  });
  const spec = Int32Array.from([model.spatialDims, model.inChannels, model.outChannels, model.filters.length, ...model.filters, headMode]);
  // joint and softmax-parts drop one channel (x₀'s softmax partner / the background)
  const outC = headMode === 2 || headMode === 4 ? model.outChannels - 1 : model.outChannels;
  let net: object | null = a.inferNetCreate(spec, precision === 'bf16' ? 1 : 0, tensors);
  let lastShape: Int32Array | null = null;
  let out = new Float32Array(0);
  const live = () => { if (!net) throw new Error('the native inference pass was released'); return net; };
  return {
    logits: headMode === 0,
    precision,
    isa: a.cpuIsa(),
    async run({ x, shape }) {
      // 2D windows [N,H,W,C] → [N,1,H,W]; 3D [N,D,H,W,1] → [N,D,H,W].
      const s = model.spatialDims === 2 ? [shape[0], 1, shape[1], shape[2]] : [shape[0], shape[1], shape[2], shape[3]];
      lastShape = Int32Array.from(s);
      // One output buffer reused while the size stays (a fresh 4 MiB array per slice cost ~2 ms in
      // page faults): the values are valid until the next run, which is how predictSlabs reads them.
      const size = s[0] * s[1] * s[2] * s[3] * outC;
      if (out.length !== size) out = new Float32Array(size);
      const shapeNow = lastShape;
      // One profile row for the whole pass (OSTEON_PROFILE=1): its convolutions are not tfjs kernels.
      profileSpan(`InferNet (whole U-Net, ${precision}: Conv+bias+ReLU, pool, deconv, concat)`, 'native', () => a.inferNetForward(live(), shapeNow, x, out));
      return out;
    },
    peakGpuBytes: () => null,
    impl: () => (lastShape ? a.inferNetImpl(live(), lastShape) : ''),
    release() {
      if (net) a.inferNetRelease(net);
      net = null;
    },
  };
}

/** predict.ts `binarizeInto`'s signature. */
export type Thresholder = (probs: Float32Array[], head: HeadConfig, hasWhole: boolean, thresholds: number[] | undefined, out: Uint8Array[], at: number) => void;

/**
 * binarizeInto on every thread (accumulate.cc thresholdSlab: the same rule and double arithmetic,
 * so the same masks), or null where the addon lacks it.
 */
export function nativeThresholder(): Thresholder | null {
  const a = loadNative().addon as Partial<InferNetAddon> | null;
  if (!a || typeof a.thresholdSlab !== 'function') return null;
  const fn = a.thresholdSlab.bind(a);
  return (probs, head, hasWhole, thresholds, out, at) => {
    const t = Float64Array.from(probs, (_, k) => thresholds?.[k] ?? 0.5);
    fn(head.kind === 'sigmoid' ? 0 : head.kind === 'joint' ? 1 : 2, hasWhole, probs, t, out, at);
  };
}
