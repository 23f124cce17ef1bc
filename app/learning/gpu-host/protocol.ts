/**
 * The GPU host protocol: what the services (the driver, app/services/gpu-host/) send to the page
 * that owns `navigator.gpu` (gpuhost/, in Electron's hidden window or a Chromium tab), and what
 * comes back. Both sides parse every message with these schemas; a message that fails is an
 * error, never half-used. Browser safe (zod and types only).
 *
 *   page → driver  hello {backend, adapter | null, reason?}     once, when the page is ready
 *   driver → page  call {id, op, ...}                           one of the ops below
 *   page → driver  result {id, ok: true, value} | {id, ok: false, error}
 *
 * Ops: init (build the U-Net and Adam), step (one Adam step on a batch; loss values back),
 * loss (forward-only loss on a batch), weights (parameters and optionally Adam's state, for a
 * checkpoint the services write), setWeights (resume, or load the best checkpoint), predict
 * (structure probabilities of a window batch), dispose. Inference has models of its own, by key,
 * beside the training model: load (a U-Net with a checkpoint's parameters), predict with that key
 * (one window batch per call: the driver streams a volume's windows, learning/gpu-host-infer.ts),
 * unload. The page never touches a file: reads, writes, sampling, pause/cancel and checkpoints
 * stay with the driver.
 */
import { z } from 'zod';
import { trainConfigSchema } from '../config.ts';
import { headConfigSchema } from '../heads.ts';

const int = z.number().int();
const shape = z.array(int.min(0)).max(6);
const f32 = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const i32 = z.custom<Int32Array>((v) => v instanceof Int32Array, 'expected an Int32Array');

export const WireBatch = z.strictObject({
  n: int.positive(), shape: z.array(int.positive()).min(2).max(3), inChannels: int.positive(), structures: int.positive(),
  x: f32, whole: f32.nullable(), labels: i32.nullable(), multiHot: f32.nullable(),
});

export const NamedTensor = z.strictObject({ name: z.string().min(1), shape, dtype: z.enum(['float32', 'int32']), data: f32 });
export type NamedTensor = z.infer<typeof NamedTensor>;

export const LossValuesSchema = z.strictObject({ total: z.number(), bce: z.number().optional(), ce: z.number().optional(), dice: z.number().optional() });
export type LossValues = z.infer<typeof LossValuesSchema>;

/** The adapter as app/learning/webgpu/device.ts summarises it (doctor, run.json and the UI show it). */
export const AdapterInfo = z.strictObject({
  vendor: z.string(), architecture: z.string(), device: z.string(), description: z.string(), software: z.boolean(),
  limits: z.record(z.string(), z.number()), features: z.array(z.string()),
});
export type AdapterInfo = z.infer<typeof AdapterInfo>;

/** An inference model's name on the page (the driver makes one per prediction job). */
const InferKey = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);

export const HostCall = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('init'), model: trainConfigSchema.shape.model, head: headConfigSchema, learningRate: z.number().positive(), hasWhole: z.boolean() }),
  z.strictObject({ op: z.literal('step'), batch: WireBatch }),
  z.strictObject({ op: z.literal('loss'), batch: WireBatch }),
  z.strictObject({ op: z.literal('weights'), optimizer: z.boolean() }),
  z.strictObject({ op: z.literal('setWeights'), tensors: z.array(NamedTensor) }),
  z.strictObject({ op: z.literal('predict'), x: f32, shape: z.array(int.positive()).min(4).max(5), key: InferKey.optional() }),
  z.strictObject({ op: z.literal('dispose') }),
  z.strictObject({ op: z.literal('load'), key: InferKey, model: trainConfigSchema.shape.model, head: headConfigSchema, hasWhole: z.boolean(), tensors: z.array(NamedTensor) }),
  z.strictObject({ op: z.literal('unload'), key: InferKey }),
]);
export type HostCall = z.infer<typeof HostCall>;
export type HostOp = HostCall['op'];

/** The value each op answers with. */
export const HostValue = {
  init: z.strictObject({ params: int, backend: z.string() }),
  step: z.strictObject({ loss: LossValuesSchema, ms: z.number() }),
  loss: z.strictObject({ loss: LossValuesSchema }),
  weights: z.strictObject({ tensors: z.array(NamedTensor) }),
  setWeights: z.strictObject({ params: int, optimizer: int }),
  predict: z.strictObject({ probs: f32, shape: z.array(int.positive()), gpuBytes: z.number().nonnegative().nullable() }),
  dispose: z.strictObject({}),
  load: z.strictObject({ params: int, backend: z.string() }),
  unload: z.strictObject({ unloaded: z.boolean() }),
} satisfies Record<HostOp, z.ZodType>;
export type HostValue<O extends HostOp> = z.infer<(typeof HostValue)[O]>;

const ErrorWire = z.strictObject({ code: z.string(), message: z.string() });

export const ToHost = z.strictObject({ t: z.literal('call'), id: int.nonnegative(), call: HostCall });
export type ToHost = z.infer<typeof ToHost>;

export const FromHost = z.union([
  z.strictObject({ t: z.literal('hello'), backend: z.string(), adapter: AdapterInfo.nullable(), kernels: z.array(z.string()), reason: z.string().optional() }),
  z.strictObject({ t: z.literal('result'), id: int.nonnegative(), ok: z.literal(true), value: z.unknown() }),
  z.strictObject({ t: z.literal('result'), id: int.nonnegative(), ok: z.literal(false), error: ErrorWire }),
]);
export type FromHost = z.infer<typeof FromHost>;
export type Hello = Extract<FromHost, { t: 'hello' }>;

/** Moves GPU host messages one way and hears the other (Electron IPC, a WebSocket, a port). */
export interface HostLink {
  send(msg: unknown): void;
  onMessage(cb: (msg: unknown) => void): () => void;
  onClose?(cb: (why: string) => void): () => void;
  close?(): void;
}
