/**
 * What the GPU host page computes, on whatever tfjs backend is active (webgpu in the page; the
 * cpu backend in unit tests): the U-Net's parameters and Adam, one step on a batch, a forward-only
 * loss, the weights for a checkpoint, and window predictions. The step is the training worker's
 * step (train.ts) line for line, so the two paths give the same numbers for the same batch.
 * Browser safe: tfjs and Osteon's pure learning code only, no file access.
 */
import * as tf from '@tensorflow/tfjs';
import { batchTensors, disposeTarget } from '../batch.ts';
import type { Batch } from '../data/sampler.ts';
import { lossFor, type HeadConfig } from '../heads.ts';
import { createParams, disposeParams, forward, countParams, type Params, type UNetConfig } from '../model/unet.ts';
import { structureProbs } from '../predict.ts';
import type { LossValues } from './protocol.ts';
import type { HostCall, HostOp, HostValue, NamedTensor } from './protocol.ts';

interface Model {
  cfg: UNetConfig;
  head: HeadConfig;
  hasWhole: boolean;
  params: Params;
  optimizer: tf.AdamOptimizer;
}

/** An inference model (no optimizer), loaded by key beside the training model. */
type InferModel = Pick<Model, 'cfg' | 'head' | 'hasWhole' | 'params'>;

/** Inference models a page keeps at once; a driver that forgets to unload is refused, not served out of memory. */
export const MAX_INFER_MODELS = 8;

/** Device bytes the active backend has allocated (webgpu's buffer pool), or null where it keeps no such figure. */
function gpuBytes(): number | null {
  const m = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
  return typeof m.numBytesAllocatedInGPU === 'number' ? m.numBytesAllocatedInGPU : null;
}

export class HostCompute {
  #m: Model | null = null;
  readonly #infer = new Map<string, InferModel>();

  get model(): Model {
    if (!this.#m) throw new Error('the GPU host has no model yet (init first)');
    return this.#m;
  }

  /** Runs one protocol call; the page maps a throw to an error result. */
  async run<O extends HostOp>(call: Extract<HostCall, { op: O }>): Promise<HostValue<O>> {
    const c = call as HostCall;
    switch (c.op) {
      case 'init': return this.init(c.model, c.head, c.learningRate, c.hasWhole) as HostValue<O>;
      case 'step': return (await this.step(c.batch)) as HostValue<O>;
      case 'loss': return { loss: await this.loss(c.batch) } as HostValue<O>;
      case 'weights': return { tensors: await this.weights(c.optimizer) } as HostValue<O>;
      case 'setWeights': return (await this.setWeights(c.tensors)) as HostValue<O>;
      case 'predict': return (await this.predict(c.x, c.shape, c.key)) as HostValue<O>;
      case 'dispose': this.dispose(); return {} as HostValue<O>;
      case 'load': return this.load(c.key, c.model, c.head, c.hasWhole, c.tensors) as HostValue<O>;
      case 'unload': return { unloaded: this.unload(c.key) } as HostValue<O>;
      default: { const never: never = c; throw new Error(`unknown GPU host op ${JSON.stringify(never)}`); }
    }
  }

  init(cfg: UNetConfig, head: HeadConfig, learningRate: number, hasWhole: boolean): HostValue<'init'> {
    this.dispose();
    const params = createParams(cfg);
    this.#m = { cfg, head, hasWhole, params, optimizer: tf.train.adam(learningRate) };
    return { params: countParams(params), backend: tf.getBackend() };
  }

  async step(b: Batch): Promise<HostValue<'step'>> {
    const { cfg, head, params, optimizer } = this.model;
    const t0 = performance.now();
    const loss = lossFor(head);
    const { x, target } = batchTensors(b, head);
    let comps: Record<string, tf.Scalar> = {};
    const total = optimizer.minimize(() => {
      const r = loss(forward(params, cfg, x), target as never);
      comps = Object.fromEntries(Object.entries(r.components).map(([k, v]) => [k, tf.keep(v as tf.Scalar)]));
      return r.total;
    }, true, [...params.values()]);
    const lv: LossValues = { total: total ? (await total.data())[0] : NaN };
    for (const [k, v] of Object.entries(comps)) { lv[k as 'bce'] = (await v.data())[0]; v.dispose(); }
    total?.dispose();
    x.dispose();
    disposeTarget(target);
    return { loss: lv, ms: performance.now() - t0 };
  }

  async loss(b: Batch): Promise<LossValues> {
    const { cfg, head, params } = this.model;
    const { x, target } = batchTensors(b, head);
    const r = tf.tidy(() => {
      const out = lossFor(head)(forward(params, cfg, x), target as never);
      return { total: out.total, ...Object.fromEntries(Object.entries(out.components).filter(([, v]) => v)) } as Record<string, tf.Scalar>;
    });
    const lv: LossValues = { total: NaN };
    for (const [k, v] of Object.entries(r)) { lv[k as 'total'] = (await v.data())[0]; v.dispose(); }
    x.dispose();
    disposeTarget(target);
    return lv;
  }

  /** `param:<name>` for every parameter, then (optionally) Adam's `opt:<name>` in its own order. */
  async weights(optimizer: boolean): Promise<NamedTensor[]> {
    const m = this.model;
    const out: NamedTensor[] = [];
    const add = async (name: string, t: tf.Tensor) => out.push({ name, shape: t.shape, dtype: t.dtype === 'int32' ? 'int32' : 'float32', data: Float32Array.from(await t.data()) });
    for (const [name, v] of m.params) await add(`param:${name}`, v);
    if (optimizer) {
      for (const w of await m.optimizer.getWeights()) {
        await add(`opt:${w.name}`, w.tensor);
        if (!(w.tensor instanceof tf.Variable)) w.tensor.dispose(); // the step counter: ours to dispose
      }
    }
    return out;
  }

  /** Loads `param:` tensors by name (all must be present) and `opt:` tensors, if any, by position. */
  async setWeights(tensors: NamedTensor[]): Promise<HostValue<'setWeights'>> {
    const m = this.model;
    const byName = new Map(tensors.map((t) => [t.name, t]));
    for (const [name, v] of m.params) {
      const t = byName.get(`param:${name}`);
      if (!t) throw new Error(`setWeights: param:${name} is missing`);
      if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`setWeights: param:${name} has shape [${t.shape}], the model [${v.shape}]`);
      const value = tf.tensor(t.data, t.shape);
      v.assign(value);
      value.dispose();
    }
    const opt = tensors.filter((t) => t.name.startsWith('opt:'));
    if (opt.length) {
      // tfjs takes ownership of what setWeights receives (it wraps the moments in variables).
      await m.optimizer.setWeights(opt.map((t) => ({ name: t.name.slice(4), tensor: tf.tensor(t.dtype === 'int32' ? Int32Array.from(t.data) : t.data, t.shape, t.dtype) })));
    }
    return { params: m.params.size, optimizer: opt.length };
  }

  /**
   * Structure probabilities [N, ...spatial, S] of a window batch x [N, ...spatial, Cin], with the
   * training model or the inference model `key`; and the device bytes allocated at that moment.
   */
  async predict(x: Float32Array, shape: number[], key?: string): Promise<HostValue<'predict'>> {
    const m = key === undefined ? this.model : this.#infer.get(key);
    if (!m) throw new Error(`the GPU host has no inference model '${key}' (load it first)`);
    const { cfg, head, hasWhole, params } = m;
    const probs = tf.tidy(() => structureProbs(forward(params, cfg, tf.tensor(x, shape)), head, hasWhole));
    const data = (await probs.data()) as Float32Array;
    const out = { probs: data, shape: probs.shape, gpuBytes: gpuBytes() };
    probs.dispose();
    return out;
  }

  /** An inference model `key` with these `param:` tensors (all must be present); replaces one of that key. */
  load(key: string, cfg: UNetConfig, head: HeadConfig, hasWhole: boolean, tensors: NamedTensor[]): HostValue<'load'> {
    this.unload(key);
    if (this.#infer.size >= MAX_INFER_MODELS) throw new Error(`the GPU host holds ${this.#infer.size} inference models already (unload one first)`);
    const params = createParams(cfg);
    try {
      const byName = new Map(tensors.map((t) => [t.name, t]));
      for (const [name, v] of params) {
        const t = byName.get(`param:${name}`);
        if (!t) throw new Error(`load: param:${name} is missing`);
        if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`load: param:${name} has shape [${t.shape}], the model [${v.shape}]`);
        const value = tf.tensor(t.data, t.shape);
        v.assign(value);
        value.dispose();
      }
    } catch (e) {
      disposeParams(params);
      throw e;
    }
    this.#infer.set(key, { cfg, head, hasWhole, params });
    return { params: countParams(params), backend: tf.getBackend() };
  }

  unload(key: string): boolean {
    const m = this.#infer.get(key);
    if (!m) return false;
    disposeParams(m.params);
    this.#infer.delete(key);
    return true;
  }

  dispose(): void {
    if (!this.#m) return;
    disposeParams(this.#m.params);
    this.#m.optimizer.dispose();
    this.#m = null;
  }
}
