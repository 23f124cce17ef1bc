/**
 * GPU host messages over a byte channel (a WebSocket): one binary frame per message,
 *
 *   uint32 LE  length L of the JSON header
 *   L bytes    UTF-8 JSON of the message, each typed array replaced by
 *              {"$bin": offset, "type": "Float32Array" | "Int32Array" | "Uint8Array", "length": n}
 *   then       the arrays' bytes, each at `offset` from the end of the (4-aligned) header
 *
 * so batches and weights travel as raw float32, not as JSON numbers. Electron IPC needs none of
 * this (structured clone keeps typed arrays). Browser safe.
 */
const KINDS = { Float32Array, Int32Array, Uint8Array } as const;
type Kind = keyof typeof KINDS;
type Typed = Float32Array | Int32Array | Uint8Array;

function kindOf(v: unknown): Kind | null {
  if (v instanceof Float32Array) return 'Float32Array';
  if (v instanceof Int32Array) return 'Int32Array';
  if (v instanceof Uint8Array) return 'Uint8Array';
  return null;
}

const pad4 = (n: number) => (n + 3) & ~3;

export function encodeMessage(msg: unknown): Uint8Array {
  const arrays: Typed[] = [];
  let bytes = 0;
  const json = JSON.stringify(msg, (_k, v: unknown) => {
    const kind = kindOf(v);
    if (!kind) return v;
    const a = v as Typed;
    arrays.push(a);
    const ref = { $bin: bytes, type: kind, length: a.length };
    bytes += pad4(a.byteLength);
    return ref;
  });
  const head = new TextEncoder().encode(json);
  const base = pad4(4 + head.length);
  const out = new Uint8Array(base + bytes);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  let at = base;
  for (const a of arrays) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += pad4(a.byteLength);
  }
  return out;
}

/** The message of a frame; throws a plain Error on a frame that breaks the layout above. */
export function decodeMessage(frame: Uint8Array): unknown {
  if (frame.byteLength < 4) throw new Error('GPU host frame: shorter than its header length');
  const len = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (4 + len > frame.byteLength) throw new Error(`GPU host frame: header claims ${len} bytes, the frame has ${frame.byteLength - 4}`);
  const base = pad4(4 + len);
  return JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + len)), (_k, v: unknown) => {
    if (!v || typeof v !== 'object' || !('$bin' in v)) return v;
    const { $bin: offset, type, length } = v as { $bin: unknown; type: unknown; length: unknown };
    if (typeof type !== 'string' || !Object.hasOwn(KINDS, type) || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) {
      throw new Error('GPU host frame: a malformed array reference');
    }
    const Ctor = KINDS[type as Kind];
    const start = base + (offset as number), end = start + (length as number) * Ctor.BYTES_PER_ELEMENT;
    if ((offset as number) < 0 || (length as number) < 0 || end > frame.byteLength) throw new Error(`GPU host frame: a ${type} of ${String(length)} elements runs past the frame`);
    // A copy: aligned for the typed array, and independent of the frame's buffer.
    return new Ctor(frame.slice(start, end).buffer);
  });
}
