/**
 * Checkpoint file: one file per checkpoint, written atomically, so a crash mid-write leaves the
 * previous checkpoint intact.
 *
 *   bytes 0..7    magic "OSTNCKPT"
 *   bytes 8..11   uint32 LE: length L of the JSON header
 *   bytes 12..    JSON header (UTF-8): {format, epoch, meta, tensors: [{name, shape, offset, length}]}
 *   then          float32 LE data of every tensor, at header offsets (bytes from the data start)
 *
 * Tensors are the model parameters (`param:<name>`) and the optimizer's state (`opt:<name>`).
 */
import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../util/atomic.ts';
import { badInput } from '../util/errors.ts';
import type { Params } from './model/unet.ts';

const MAGIC = 'OSTNCKPT';
const FORMAT = 'osteon-checkpoint/1';

interface Entry { name: string; shape: number[]; dtype: 'float32' | 'int32'; offset: number; length: number }
interface Header { format: string; epoch: number; meta: Record<string, unknown>; tensors: Entry[] }

export interface Checkpoint {
  epoch: number;
  meta: Record<string, unknown>;
  tensors: Map<string, { shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array }>;
}

export async function saveCheckpoint(path: string, epoch: number, params: Params, optimizer: tf.Optimizer | null, meta: Record<string, unknown>): Promise<void> {
  const named: Array<{ name: string; tensor: tf.Tensor }> = [];
  for (const [name, v] of params) named.push({ name: `param:${name}`, tensor: v });
  // getWeights() returns Adam's moments as its own variables, and the step counter as a new
  // scalar that is ours to dispose (else one tensor leaks per checkpoint).
  const owned: tf.Tensor[] = [];
  if (optimizer) {
    for (const w of await optimizer.getWeights()) {
      named.push({ name: `opt:${w.name}`, tensor: w.tensor });
      if (!(w.tensor instanceof tf.Variable)) owned.push(w.tensor);
    }
  }
  const values: CheckpointTensor[] = [];
  for (const { name, tensor } of named) {
    // Stored as float32 values whatever the dtype (Adam's step counter is int32: exact below 2^24).
    values.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', data: Float32Array.from(await tensor.data()) });
  }
  for (const t of owned) t.dispose();
  writeFileAtomic(path, encodeCheckpoint(epoch, values, meta));
}

/** One stored tensor: `param:<name>` or `opt:<name>`, float32 values whatever the dtype. */
export interface CheckpointTensor { name: string; shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array }

/** The checkpoint file's bytes (layout in the header comment); tensors already on the CPU (the GPU host's). */
export function encodeCheckpoint(epoch: number, tensors: readonly CheckpointTensor[], meta: Record<string, unknown>): Buffer {
  const entries: Entry[] = [];
  let offset = 0;
  for (const t of tensors) {
    entries.push({ name: t.name, shape: t.shape, dtype: t.dtype, offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  const header = Buffer.from(JSON.stringify({ format: FORMAT, epoch, meta, tensors: entries } satisfies Header), 'utf8');
  const buf = Buffer.alloc(12 + header.length + offset);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  let at = 12 + header.length;
  for (const { data: c } of tensors) {
    Buffer.from(c.buffer, c.byteOffset, c.byteLength).copy(buf, at);
    at += c.byteLength;
  }
  return buf;
}

const EntrySchema = z.strictObject({
  name: z.string().max(512).regex(/^(param|opt):\S+$/, 'a tensor name starts with param: or opt:'),
  shape: z.array(z.number().int().nonnegative().max(2 ** 31)).max(8),
  dtype: z.enum(['float32', 'int32']),
  offset: z.number().int().nonnegative().multipleOf(4),
  length: z.number().int().nonnegative(),
});
const HeaderSchema = z.strictObject({
  format: z.string().max(64),
  epoch: z.number().int().nonnegative(),
  meta: z.record(z.string(), z.unknown()),
  tensors: z.array(EntrySchema).max(100_000),
});

/** Largest checkpoint read (a 3D U-Net with Adam state is a few hundred MB). */
export const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;

export function readCheckpoint(path: string): Checkpoint {
  let size: number;
  try { size = statSync(path).size; } catch (e) { throw badInput(path, 'file', (e as Error).message, 'not-found'); }
  if (!statSync(path).isFile()) throw badInput(path, 'file', 'is not a regular file');
  if (size > MAX_CHECKPOINT_BYTES) throw badInput(path, 'file', `${size} bytes: larger than any Osteon checkpoint (${MAX_CHECKPOINT_BYTES})`);
  let buf: Buffer;
  try { buf = readFileSync(path); } catch (e) { throw badInput(path, 'file', (e as Error).message, 'not-found'); }
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw badInput(path, 'magic', 'not an Osteon checkpoint');
  const len = buf.readUInt32LE(8);
  if (12 + len > buf.length) throw badInput(path, 'header', `claims ${len} bytes, file has ${buf.length - 12}`);
  let raw: unknown;
  try { raw = JSON.parse(buf.toString('utf8', 12, 12 + len)); } catch (e) { throw badInput(path, 'header', `invalid JSON: ${(e as Error).message}`); }
  if (raw && typeof raw === 'object' && (raw as { format?: unknown }).format !== FORMAT) throw badInput(path, 'format', `"${String((raw as { format?: unknown }).format).slice(0, 64)}", expected "${FORMAT}"`);
  const parsed = HeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(path, issue.path.length ? issue.path.join('.') : 'header', issue.message);
  }
  const header: Header = parsed.data;
  const base = 12 + len;
  const tensors = new Map<string, { shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array }>();
  for (const t of header.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.length || base + t.offset + 4 * n > buf.length) throw badInput(path, `tensors.${t.name}`, 'truncated or inconsistent');
    const data = new Float32Array(n);
    Buffer.from(data.buffer).set(buf.subarray(base + t.offset, base + t.offset + 4 * n));
    tensors.set(t.name, { shape: t.shape, dtype: t.dtype, data });
  }
  return { epoch: header.epoch, meta: header.meta, tensors };
}

/** Copies checkpoint values into existing parameters (shapes must match). */
export function loadParams(ck: Checkpoint, params: Params, file: string): void {
  for (const [name, v] of params) {
    const t = ck.tensors.get(`param:${name}`);
    if (!t) throw badInput(file, `param:${name}`, 'missing from the checkpoint (different model config?)');
    if (t.shape.join(',') !== v.shape.join(',')) throw badInput(file, `param:${name}`, `shape [${t.shape}] but the model has [${v.shape}]`);
    v.assign(tf.tensor(t.data, t.shape));
  }
}

export async function loadOptimizer(ck: Checkpoint, optimizer: tf.Optimizer): Promise<void> {
  const weights: Array<{ name: string; tensor: tf.Tensor }> = [];
  for (const [name, t] of ck.tensors) if (name.startsWith('opt:')) weights.push({ name: name.slice(4), tensor: tf.tensor(t.dtype === 'int32' ? Int32Array.from(t.data) : t.data, t.shape, t.dtype) });
  if (weights.length) await optimizer.setWeights(weights);
}
