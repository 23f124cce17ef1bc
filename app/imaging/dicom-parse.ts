/**
 * Minimal DICOM Part 10 parser (PS3.5 §7, PS3.10 §7.1). Walks the data set, records where each
 * element's value lies, parses sequences into nested data sets (enhanced CT keeps its geometry
 * in functional-group sequences), inflates deflated data sets and splits encapsulated pixel
 * data into fragments. It decodes no pixels: `dicom-pixels.ts` does, through codec libraries.
 */
import { inflateRawSync } from 'node:zlib';
import { badInput } from '../util/errors.ts';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  deflatedLE: '1.2.840.10008.1.2.1.99',
} as const;

/** Every transfer syntax Osteon reads, by UID (PS3.6 Annex A), with its name. */
export const TRANSFER_SYNTAXES: Record<string, string> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless, Non-Hierarchical (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Lossy (Near-Lossless)',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Image Compression (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000 Image Compression',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 with RPCL Options (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

/** Name of a transfer syntax for listings ("JPEG 2000 Image Compression (Lossless Only)"). */
export function transferSyntaxName(uid: string): string {
  return Object.hasOwn(TRANSFER_SYNTAXES, uid) ? TRANSFER_SYNTAXES[uid] : uid;
}

/** True when the pixel data is encapsulated (compressed), i.e. not one of the three native syntaxes or deflate. */
export function isEncapsulatedSyntax(uid: string): boolean {
  return uid !== TS.implicitLE && uid !== TS.explicitLE && uid !== TS.explicitBE && uid !== TS.deflatedLE;
}

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000, ITEM_END = 0xfffee00d, SEQ_END = 0xfffee0dd;
const PIXEL_DATA = 0x7fe00010;
/** Deepest sequence nesting accepted (enhanced CT uses 3). */
const MAX_DEPTH = 64;
/** Largest inflated data set accepted from a deflated file. */
const MAX_INFLATED = 2 ** 31 - 1;

/** A byte range inside the file. */
export interface Span { offset: number; length: number }

export interface DicomElement extends Span {
  vr: string;
  /** True for encapsulated (undefined-length) pixel data; `fragments` then lists its fragments. */
  encapsulated: boolean;
  /** Encapsulated pixel data (PS3.5 §A.4): the Basic Offset Table item, then the fragments. */
  offsetTable?: Span;
  fragments?: Span[];
  /** Items of a sequence (SQ), each a nested data set. */
  items?: DataSet[];
}

/** A data set (the file's, or a sequence item's): elements by tag, values as spans of `bytes`. */
export interface DataSet {
  path: string;
  bytes: Uint8Array;
  littleEndian: boolean;
  elements: Map<number, DicomElement>;
}

export interface DicomFile extends DataSet {
  transferSyntax: string;
  /** Parsed with `headerOnly`: `bytes` may be a prefix and the pixel data is not described. */
  headerOnly: boolean;
  /** True when the file had no Part 10 preamble/meta (a bare implicit VR LE data set). */
  bare: boolean;
}

/** Tag as a number: (gggg,eeee) → 0xggggeeee. */
export const tag = (g: number, e: number): number => ((g << 16) | e) >>> 0;

export function isDicom(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/** A bare data set (no preamble) starting with group 0008 or 0002, as old archives and DICOMDIR-less exports have. */
export function looksLikeBareDicom(b: Uint8Array): boolean {
  return b.length >= 8 && (b[1] === 0x00 && (b[0] === 0x08 || b[0] === 0x02)) && b[3] === 0x00;
}

class Reader {
  readonly v: DataView;
  constructor(readonly file: string, readonly b: Uint8Array, public le: boolean, public explicit: boolean) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  need(pos: number, n: number, what: string): void {
    if (pos + n > this.b.length) throw badInput(this.file, what, `truncated: needs ${pos + n} bytes, the file has ${this.b.length}`);
  }

  tagAt(pos: number): number {
    this.need(pos, 4, 'data set');
    return tag(this.v.getUint16(pos, this.le), this.v.getUint16(pos + 2, this.le));
  }

  /** Header of the element at `pos`: its tag, VR ('' in implicit VR), value offset and length. */
  header(pos: number): { t: number; vr: string; off: number; len: number } {
    const t = this.tagAt(pos);
    // Item and delimiter tags have no VR in any transfer syntax.
    if (!this.explicit || t === ITEM || t === ITEM_END || t === SEQ_END) {
      this.need(pos, 8, 'data set');
      return { t, vr: '', off: pos + 8, len: this.v.getUint32(pos + 4, this.le) };
    }
    this.need(pos, 8, 'data set');
    const vr = String.fromCharCode(this.b[pos + 4], this.b[pos + 5]);
    if (LONG_VRS.has(vr)) {
      this.need(pos, 12, 'data set');
      return { t, vr, off: pos + 12, len: this.v.getUint32(pos + 8, this.le) };
    }
    return { t, vr, off: pos + 8, len: this.v.getUint16(pos + 6, this.le) };
  }

  /**
   * Elements from `pos` up to `end` (a defined length) or up to an item delimiter (`end` =
   * undefined); returns the data set and the position after it.
   */
  dataSet(pos: number, end: number | undefined, depth: number, stopAtPixels: boolean): { ds: DataSet; pos: number } {
    if (depth > MAX_DEPTH) throw badInput(this.file, 'data set', `sequences nested deeper than ${MAX_DEPTH} levels`);
    const elements = new Map<number, DicomElement>();
    const ds: DataSet = { path: this.file, bytes: this.b, littleEndian: this.le, elements };
    const limit = end ?? this.b.length;
    while (pos + 8 <= limit) {
      const h = this.header(pos);
      if (h.t === ITEM_END) {
        if (end === undefined) return { ds, pos: h.off };
        pos = h.off;
        continue;
      }
      if (h.t === PIXEL_DATA && stopAtPixels) {
        // Headers only (the buffer may be a prefix of the file): note where the pixels start.
        elements.set(h.t, { offset: h.off, length: h.len === UNDEFINED ? 0 : h.len, vr: h.vr || 'OW', encapsulated: h.len === UNDEFINED });
        return { ds, pos: this.b.length };
      }
      if (h.t === PIXEL_DATA && h.len === UNDEFINED) {
        elements.set(h.t, this.encapsulated(h.off, h.vr));
        return { ds, pos: this.b.length };
      }
      if (h.len === UNDEFINED) {
        // A sequence (SQ, or UN of undefined length, which holds implicit VR LE: PS3.5 §6.2.2).
        const r = h.vr === 'UN' ? new Reader(this.file, this.b, true, false) : this;
        const { items, pos: after } = r.items(h.off, undefined, depth + 1);
        elements.set(h.t, { offset: h.off, length: after - h.off, vr: h.vr || 'SQ', encapsulated: false, items });
        pos = after;
        continue;
      }
      this.need(h.off, h.len, `element ${hex(h.t)}`);
      const el: DicomElement = { offset: h.off, length: h.len, vr: h.vr, encapsulated: false };
      if (h.vr === 'SQ' || (h.vr === '' && h.len >= 8 && this.tagAt(h.off) === ITEM)) {
        el.items = this.items(h.off, h.off + h.len, depth + 1).items;
      }
      elements.set(h.t, el);
      pos = h.off + h.len;
    }
    if (end === undefined && depth > 0) throw badInput(this.file, 'data set', 'a sequence item has no item delimiter (truncated?)');
    return { ds, pos };
  }

  /** Items of a sequence value from `pos` up to `end` or to the sequence delimiter. */
  items(pos: number, end: number | undefined, depth: number): { items: DataSet[]; pos: number } {
    if (depth > MAX_DEPTH) throw badInput(this.file, 'data set', `sequences nested deeper than ${MAX_DEPTH} levels`);
    const items: DataSet[] = [];
    for (;;) {
      if (end !== undefined && pos >= end) return { items, pos };
      const h = this.header(pos);
      if (h.t === SEQ_END) return { items, pos: h.off };
      if (h.t !== ITEM) throw badInput(this.file, 'data set', `expected a sequence item at byte ${pos}, found tag ${hex(h.t)}`);
      if (h.len === UNDEFINED) {
        const r = this.dataSet(h.off, undefined, depth, false);
        items.push(r.ds);
        pos = r.pos;
      } else {
        this.need(h.off, h.len, 'sequence item');
        items.push(this.dataSet(h.off, h.off + h.len, depth, false).ds);
        pos = h.off + h.len;
      }
    }
  }

  /** Encapsulated pixel data: the offset table item, then fragment items up to the delimiter. */
  encapsulated(pos: number, vr: string): DicomElement {
    const start = pos;
    const spans: Span[] = [];
    for (;;) {
      if (pos + 8 > this.b.length) break; // tolerate a missing sequence delimiter at EOF
      const h = this.header(pos);
      if (h.t === SEQ_END) { pos = h.off; break; }
      if (h.t !== ITEM || h.len === UNDEFINED) throw badInput(this.file, 'PixelData', `expected a fragment item at byte ${pos}, found tag ${hex(h.t)}`);
      this.need(h.off, h.len, 'PixelData fragment');
      spans.push({ offset: h.off, length: h.len });
      pos = h.off + h.len;
    }
    if (spans.length === 0) throw badInput(this.file, 'PixelData', 'encapsulated pixel data without a Basic Offset Table item');
    return { offset: start, length: pos - start, vr: vr || 'OB', encapsulated: true, offsetTable: spans[0], fragments: spans.slice(1) };
  }
}

function hex(t: number): string {
  return `(${(t >>> 16).toString(16).padStart(4, '0')},${(t & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();
}

/**
 * Parses a Part 10 file (or, without the 'DICM' preamble, a bare implicit-VR-LE data set
 * starting with group 0008). Sequences are parsed into items; encapsulated pixel data into its
 * fragments; a deflated data set is inflated first. `headerOnly` stops at the pixel data
 * element (its value is neither read nor checked), so `bytes` may be just the file's start.
 */
export function parseDicom(path: string, bytes: Uint8Array, opts: { headerOnly?: boolean } = {}): DicomFile {
  let pos = 0;
  let ts: string = TS.implicitLE;
  const bare = !isDicom(bytes);
  if (!bare) {
    const meta = new Reader(path, bytes, true, true);
    pos = 132;
    while (pos + 8 <= bytes.length && meta.tagAt(pos) >>> 16 === 0x0002) {
      const h = meta.header(pos);
      meta.need(h.off, h.len, 'file meta');
      if (h.t === tag(0x0002, 0x0010)) ts = text(bytes, h.off, h.len);
      pos = h.off + h.len;
    }
  } else if (!looksLikeBareDicom(bytes)) {
    throw badInput(path, 'preamble', "not a DICOM file (no 'DICM' at byte 128)");
  } else if (bytes[0] === 0x02) {
    throw badInput(path, 'preamble', 'file meta (group 0002) without the 128-byte preamble and DICM prefix', 'unsupported');
  }
  if (!Object.hasOwn(TRANSFER_SYNTAXES, ts)) {
    throw badInput(path, 'TransferSyntaxUID', `${ts} is not a transfer syntax Osteon can read (supported: ${Object.values(TRANSFER_SYNTAXES).join('; ')})`, 'unsupported');
  }
  if (ts === TS.deflatedLE) {
    // PS3.5 §A.5: everything after the file meta is one raw deflate stream.
    let body: Buffer;
    try {
      body = inflateRawSync(bytes.subarray(pos), { maxOutputLength: MAX_INFLATED });
    } catch (e) {
      throw badInput(path, 'data set', `deflated data set does not inflate: ${(e as Error).message}`);
    }
    const joined = new Uint8Array(pos + body.length);
    joined.set(bytes.subarray(0, pos));
    joined.set(body, pos);
    bytes = joined;
  }
  const r = new Reader(path, bytes, ts !== TS.explicitBE, ts !== TS.implicitLE);
  const { ds } = r.dataSet(pos, bytes.length, 0, opts.headerOnly === true);
  return { ...ds, transferSyntax: ts, bare, headerOnly: opts.headerOnly === true };
}

function text(b: Uint8Array, off: number, len: number): string {
  return Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1').replace(/[\0 ]+$/, '').trim();
}

/** A string element's value (trailing spaces/NULs removed), or undefined when absent. */
export function str(f: DataSet, t: number): string | undefined {
  const e = f.elements.get(t);
  return e ? text(f.bytes, e.offset, e.length) : undefined;
}

/** A DS/IS multi-value as numbers (PS3.5 backslash-separated). */
export function nums(f: DataSet, t: number): number[] | undefined {
  const s = str(f, t);
  if (s === undefined || s === '') return undefined;
  return s.split('\\').map((x) => Number(x.trim()));
}

/** A US value. */
export function us(f: DataSet, t: number): number | undefined {
  const e = f.elements.get(t);
  if (!e || e.length < 2) return undefined;
  return new DataView(f.bytes.buffer, f.bytes.byteOffset + e.offset, 2).getUint16(0, f.littleEndian);
}

/** Items of a sequence element ([] when absent or empty). */
export function seq(f: DataSet, t: number): DataSet[] {
  return f.elements.get(t)?.items ?? [];
}

/** The first item of a sequence found in any of `sets` (e.g. per-frame, then shared functional groups). */
export function firstItem(sets: Array<DataSet | undefined>, t: number): DataSet | undefined {
  for (const s of sets) {
    const it = s ? seq(s, t)[0] : undefined;
    if (it) return it;
  }
  return undefined;
}
