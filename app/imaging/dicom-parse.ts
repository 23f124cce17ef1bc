/**
 * Minimal DICOM Part 10 parser (PS3.5 §7, PS3.10 §7.1): enough to read uncompressed image
 * slices. Walks the top-level data set, skipping sequences (defined or undefined length, nested)
 * without interpreting them, and records where each top-level element's value lies.
 */
import { badInput } from '../util/errors.ts';

export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
} as const;

/** Transfer syntaxes Osteon does not decode, by UID (PS3.6 Annex A). */
export const COMPRESSED_TS: Record<string, string> = {
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

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000, ITEM_END = 0xfffee00d, SEQ_END = 0xfffee0dd;

export interface DicomElement {
  offset: number;
  length: number;
  /** True for encapsulated (undefined-length) pixel data. */
  encapsulated: boolean;
}

export interface DicomFile {
  path: string;
  bytes: Uint8Array;
  transferSyntax: string;
  littleEndian: boolean;
  elements: Map<number, DicomElement>;
}

/** Tag as a number: (gggg,eeee) → 0xggggeeee. */
export const tag = (g: number, e: number): number => ((g << 16) | e) >>> 0;

export function isDicom(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
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

  /** Skips an undefined-length sequence's items starting at `pos`; returns the position after its delimiter. */
  skipUndefined(pos: number, depth: number): number {
    if (depth > 64) throw badInput(this.file, 'data set', 'sequences nested deeper than 64 levels');
    for (;;) {
      const h = this.header(pos);
      if (h.t === SEQ_END) return h.off;
      if (h.t !== ITEM) throw badInput(this.file, 'data set', `expected a sequence item at byte ${pos}, found tag ${hex(h.t)}`);
      pos = h.len === UNDEFINED ? this.skipItem(h.off, depth + 1) : h.off + h.len;
    }
  }

  /** Skips the elements of an undefined-length item; returns the position after its delimiter. */
  skipItem(pos: number, depth: number): number {
    for (;;) {
      const h = this.header(pos);
      if (h.t === ITEM_END) return h.off;
      pos = h.len === UNDEFINED ? this.skipUndefined(h.off, depth + 1) : h.off + h.len;
    }
  }
}

function hex(t: number): string {
  return `(${(t >>> 16).toString(16).padStart(4, '0')},${(t & 0xffff).toString(16).padStart(4, '0')})`.toUpperCase();
}

/**
 * Parses a Part 10 file (or, without the 'DICM' preamble, a bare implicit-VR-LE data set
 * starting with group 0008). Compressed transfer syntaxes are refused naming the UID.
 */
export function parseDicom(path: string, bytes: Uint8Array): DicomFile {
  const elements = new Map<number, DicomElement>();
  let pos = 0;
  let ts: string = TS.implicitLE;
  if (isDicom(bytes)) {
    const meta = new Reader(path, bytes, true, true);
    pos = 132;
    while (pos + 8 <= bytes.length && meta.tagAt(pos) >>> 16 === 0x0002) {
      const h = meta.header(pos);
      meta.need(h.off, h.len, 'file meta');
      if (h.t === tag(0x0002, 0x0010)) ts = text(bytes, h.off, h.len);
      pos = h.off + h.len;
    }
  } else if (!(bytes.length >= 8 && bytes[0] === 0x08 && bytes[1] === 0x00)) {
    throw badInput(path, 'preamble', "not a DICOM file (no 'DICM' at byte 128)");
  }
  if (Object.hasOwn(COMPRESSED_TS, ts)) {
    throw badInput(path, 'TransferSyntaxUID', `${ts} (${COMPRESSED_TS[ts]}) is compressed; Osteon reads uncompressed DICOM only (implicit/explicit VR little endian, explicit big endian). Decompress first, e.g. with dcmdjpeg/gdcmconv --raw`, 'unsupported');
  }
  if (ts !== TS.implicitLE && ts !== TS.explicitLE && ts !== TS.explicitBE) {
    throw badInput(path, 'TransferSyntaxUID', `${ts} is not a transfer syntax Osteon can read`, 'unsupported');
  }
  const r = new Reader(path, bytes, ts !== TS.explicitBE, ts !== TS.implicitLE);
  while (pos + 8 <= bytes.length) {
    const h = r.header(pos);
    if (h.len === UNDEFINED) {
      if (h.t === tag(0x7fe0, 0x0010)) {
        elements.set(h.t, { offset: h.off, length: bytes.length - h.off, encapsulated: true });
        break;
      }
      // UN of undefined length holds implicit VR little endian (PS3.5 §6.2.2).
      pos = h.vr === 'UN' ? new Reader(path, bytes, true, false).skipUndefined(h.off, 0) : r.skipUndefined(h.off, 0);
      continue;
    }
    r.need(h.off, h.len, `element ${hex(h.t)}`);
    elements.set(h.t, { offset: h.off, length: h.len, encapsulated: false });
    pos = h.off + h.len;
  }
  return { path, bytes, transferSyntax: ts, littleEndian: ts !== TS.explicitBE, elements };
}

function text(b: Uint8Array, off: number, len: number): string {
  return Buffer.from(b.buffer, b.byteOffset + off, len).toString('latin1').replace(/[\0 ]+$/, '').trim();
}

/** A string element's value (trailing spaces/NULs removed), or undefined when absent. */
export function str(f: DicomFile, t: number): string | undefined {
  const e = f.elements.get(t);
  return e ? text(f.bytes, e.offset, e.length) : undefined;
}

/** A DS/IS multi-value as numbers (PS3.5 backslash-separated). */
export function nums(f: DicomFile, t: number): number[] | undefined {
  const s = str(f, t);
  if (s === undefined || s === '') return undefined;
  return s.split('\\').map((x) => Number(x.trim()));
}

/** A US value. */
export function us(f: DicomFile, t: number): number | undefined {
  const e = f.elements.get(t);
  if (!e || e.length < 2) return undefined;
  return new DataView(f.bytes.buffer, f.bytes.byteOffset + e.offset, 2).getUint16(0, f.littleEndian);
}
