/**
 * Stored pixel values of a DICOM file, frame by frame, for every transfer syntax Osteon reads.
 * Native data is reinterpreted at BitsAllocated without masking, as pydicom does; encapsulated
 * frames go through `dicom-codecs.ts`, and signed data (PixelRepresentation 1) is sign-extended
 * from BitsStored, as pydicom's GDCM/Pillow handlers do for codecs that return unsigned samples.
 */
import { badInput } from '../util/errors.ts';
import { decodeFrame, type FrameInfo, type Samples } from './dicom-codecs.ts';
import { isEncapsulatedSyntax, str, tag, us, type DicomFile, type Span } from './dicom-parse.ts';

export const PX = {
  samples: tag(0x0028, 0x0002), frames: tag(0x0028, 0x0008), rows: tag(0x0028, 0x0010), columns: tag(0x0028, 0x0011),
  bitsAllocated: tag(0x0028, 0x0100), bitsStored: tag(0x0028, 0x0101), pixelRepresentation: tag(0x0028, 0x0103),
  planar: tag(0x0028, 0x0006), pixelData: tag(0x7fe0, 0x0010),
};

/** The header fields a frame decode needs, validated. */
export function frameInfo(f: DicomFile): FrameInfo & { frames: number } {
  const rows = us(f, PX.rows), columns = us(f, PX.columns);
  if (!rows) throw badInput(f.path, 'Rows', `${rows ?? 'missing'}, expected >= 1`);
  if (!columns) throw badInput(f.path, 'Columns', `${columns ?? 'missing'}, expected >= 1`);
  const samplesPerPixel = us(f, PX.samples) ?? 1;
  if (samplesPerPixel !== 1) throw badInput(f.path, 'SamplesPerPixel', `${samplesPerPixel}: only grayscale (1) is supported`, 'unsupported');
  const bitsAllocated = us(f, PX.bitsAllocated) ?? 0;
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) throw badInput(f.path, 'BitsAllocated', `${bitsAllocated}, expected 8, 16 or 32`, 'unsupported');
  const bitsStored = us(f, PX.bitsStored) ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) throw badInput(f.path, 'BitsStored', `${bitsStored}, expected 1..BitsAllocated (${bitsAllocated})`);
  const frames = Number(str(f, PX.frames) ?? '1');
  if (!Number.isInteger(frames) || frames < 1) throw badInput(f.path, 'NumberOfFrames', `${str(f, PX.frames)}, expected an integer >= 1`);
  return { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, pixelRepresentation: us(f, PX.pixelRepresentation) ?? 0, planarConfiguration: us(f, PX.planar) ?? 0, frames };
}

/** Stored values of every frame of a native (uncompressed or deflated) file, synchronously. */
export function nativeFrames(f: DicomFile): Samples[] {
  const info = frameInfo(f);
  const e = f.elements.get(PX.pixelData);
  if (!e) throw badInput(f.path, 'PixelData', 'missing');
  if (isEncapsulatedSyntax(f.transferSyntax)) throw new Error(`${f.path}: nativeFrames on compressed data`);
  if (e.encapsulated) throw badInput(f.path, 'PixelData', 'encapsulated (compressed) pixel data in an uncompressed transfer syntax');
  return Array.from({ length: info.frames }, (_, k) => nativeFrame(f, e, info, info.rows * info.columns, k));
}

/** One array of stored values per frame (Int16Array/Uint16Array/... by BitsAllocated and PixelRepresentation). */
export async function storedFrames(f: DicomFile): Promise<Samples[]> {
  if (!isEncapsulatedSyntax(f.transferSyntax)) return nativeFrames(f);
  const info = frameInfo(f);
  const e = f.elements.get(PX.pixelData);
  if (!e) throw badInput(f.path, 'PixelData', 'missing');
  const per = info.rows * info.columns;
  if (!e.encapsulated || !e.fragments) throw badInput(f.path, 'PixelData', `native pixel data in the compressed transfer syntax ${f.transferSyntax}`);
  const spans = frameSpans(f, e.offsetTable!, e.fragments, info.frames);
  const out: Samples[] = [];
  for (let k = 0; k < spans.length; k++) {
    const bytes = joinSpans(f.bytes, spans[k]);
    let s: Samples;
    try {
      s = await decodeFrame(f.transferSyntax, bytes, info);
    } catch (err) {
      throw badInput(f.path, 'PixelData', `frame ${k + 1} does not decode (${f.transferSyntax}): ${(err as Error).message ?? String(err)}`);
    }
    if (s.length < per) throw badInput(f.path, 'PixelData', `frame ${k + 1} decoded to ${s.length} samples, Rows×Columns is ${per}`);
    out.push(fixSign(s.length > per ? s.subarray(0, per) : s, info));
  }
  return out;
}

function nativeFrame(f: DicomFile, e: Span, info: FrameInfo, per: number, k: number): Samples {
  const bytes = info.bitsAllocated / 8;
  const size = per * bytes;
  if (e.length < size * (k + 1)) throw badInput(f.path, 'PixelData', `${e.length} bytes, Rows×Columns×NumberOfFrames×BitsAllocated/8 needs ${size * (k + 1)}`);
  // A copy (Buffer#slice would be a view into the pooled file buffer).
  const copy = new Uint8Array(f.bytes.subarray(e.offset + k * size, e.offset + (k + 1) * size));
  if (!f.littleEndian && bytes > 1) for (let i = 0; i < copy.length; i += bytes) copy.subarray(i, i + bytes).reverse();
  const signed = info.pixelRepresentation === 1;
  if (bytes === 1) return signed ? new Int8Array(copy.buffer) : copy;
  if (bytes === 2) return signed ? new Int16Array(copy.buffer) : new Uint16Array(copy.buffer);
  return signed ? new Int32Array(copy.buffer) : new Uint32Array(copy.buffer);
}

/**
 * Codecs return unsigned samples for signed data (JPEG-LS, JPEG lossless, unsigned-coded J2K):
 * reinterpret them as BitsStored-bit two's complement at BitsAllocated width.
 */
function fixSign(s: Samples, info: FrameInfo): Samples {
  const signed = info.pixelRepresentation === 1;
  const shift = 32 - info.bitsStored;
  if (info.bitsAllocated === 8) {
    const out = signed ? new Int8Array(s.length) : new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = signed ? (s[i] << shift) >> shift : s[i];
    return out;
  }
  if (info.bitsAllocated === 16) {
    if (!signed) return s instanceof Uint16Array ? s : Uint16Array.from(s);
    // Already two's complement at 16 bits (a signed codestream): sign extension from bit 16 is the identity.
    if (s instanceof Int16Array && info.bitsStored === 16) return s;
    const out = new Int16Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = (s[i] << shift) >> shift;
    return out;
  }
  if (!signed) return Uint32Array.from(s);
  const out = new Int32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = shift ? (s[i] << shift) >> shift : s[i];
  return out;
}

function joinSpans(b: Uint8Array, spans: Span[]): Uint8Array {
  if (spans.length === 1) return b.subarray(spans[0].offset, spans[0].offset + spans[0].length);
  const out = new Uint8Array(spans.reduce((n, s) => n + s.length, 0));
  let p = 0;
  for (const s of spans) { out.set(b.subarray(s.offset, s.offset + s.length), p); p += s.length; }
  return out;
}

/** JPEG SOI (FFD8) or JPEG 2000 codestream SOC (FF4F) at the start of a fragment: a frame starts. */
function startsFrame(b: Uint8Array, s: Span): boolean {
  return s.length >= 2 && b[s.offset] === 0xff && (b[s.offset + 1] === 0xd8 || b[s.offset + 1] === 0x4f);
}

/**
 * Fragments of each frame (PS3.5 §A.4): one frame takes them all; else the Basic Offset Table
 * gives the boundaries; else one fragment per frame when the counts match; else a new frame
 * starts at each fragment that begins with a JPEG/J2K start marker.
 */
function frameSpans(f: DicomFile, table: Span, frags: Span[], frames: number): Span[][] {
  if (frags.length === 0) throw badInput(f.path, 'PixelData', 'encapsulated pixel data has no fragments');
  if (frames === 1) return [frags];
  if (table.length >= 4 * frames) {
    const v = new DataView(f.bytes.buffer, f.bytes.byteOffset + table.offset, table.length);
    const starts = Array.from({ length: frames }, (_, k) => v.getUint32(4 * k, true));
    // Offsets count from the first fragment's item tag; each fragment's item header is 8 bytes.
    const base = frags[0].offset - 8;
    const out: Span[][] = starts.map(() => []);
    for (const s of frags) {
      const rel = s.offset - 8 - base;
      let k = frames - 1;
      while (k > 0 && starts[k] > rel) k--;
      out[k].push(s);
    }
    if (out.every((o) => o.length > 0)) return out;
  }
  if (frags.length === frames) return frags.map((s) => [s]);
  const out: Span[][] = [];
  for (const s of frags) {
    if (out.length === 0 || startsFrame(f.bytes, s)) out.push([s]);
    else out[out.length - 1].push(s);
  }
  if (out.length !== frames) throw badInput(f.path, 'PixelData', `${frags.length} fragments could not be split into NumberOfFrames=${frames} frames`);
  return out;
}
