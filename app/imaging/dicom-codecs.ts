/**
 * Pixel codecs for encapsulated DICOM transfer syntaxes, all from maintained libraries (see
 * docs/dicom.md for the measurements behind the choice); nothing here decodes a bitstream itself.
 *
 * | transfer syntax                         | library                                           |
 * | --------------------------------------- | ------------------------------------------------- |
 * | JPEG 2000 (.90, .91)                    | @cornerstonejs/codec-openjpeg (OpenJPEG, wasm)    |
 * | HTJ2K (.201, .202, .203)                | @cornerstonejs/codec-openjph (OpenJPH, wasm)      |
 * | JPEG-LS (.80, .81)                      | @cornerstonejs/codec-charls (CharLS, wasm)        |
 * | JPEG baseline 8-bit (.50, .51 8-bit)    | @cornerstonejs/codec-libjpeg-turbo-8bit (wasm)    |
 * | JPEG extended 12-bit (.51)              | dcmjs-codecs NativeCodecs (IJG libjpeg 12-bit)    |
 * | JPEG lossless (.57, .70)                | @cornerstonejs/jpeg-lossless-decoder-js           |
 * | RLE Lossless (.5)                       | @cornerstonejs/dicom-image-loader decodeRLE       |
 *
 * Every codec loads from node_modules (the wasm files sit next to their JS glue), so decoding
 * works offline. Codec instances are created once per thread and reused.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);

/** What a codec needs to know about the frame, from the DICOM header. */
export interface FrameInfo {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  planarConfiguration: number;
}

/** Decoded samples, as the codec returns them (8 or 16 bits per sample, signed or not). */
export type Samples = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

interface WasmDecoder {
  getEncodedBuffer(n: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
}
type WasmFactory = (opts: { locateFile?: (f: string) => string; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<Record<string, new () => WasmDecoder>>;

const cache = new Map<string, Promise<unknown>>();

function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  if (!cache.has(key)) cache.set(key, load());
  return cache.get(key) as Promise<T>;
}

/** An emscripten codec's decoder class, its .wasm resolved next to the glue file. */
function wasmDecoder(pkgEntry: string, className: string): Promise<WasmDecoder> {
  return once(pkgEntry, async () => {
    const file = require.resolve(pkgEntry);
    const factory = require(file) as WasmFactory;
    const dir = dirname(file);
    // The codecs log every header they read; keep stdout clean (failures still throw).
    const quiet = () => undefined;
    const mod = await factory({ locateFile: (f: string) => (f.endsWith('.wasm') ? join(dir, f) : f), print: quiet, printErr: quiet });
    return new mod[className]();
  });
}

/** The dicom-image-loader's pure-JS decoders, imported by file (the package exports no subpath for them). */
function loaderFile<T>(rel: string): Promise<T> {
  return once(`loader:${rel}`, async () => {
    const root = dirname(require.resolve('@cornerstonejs/dicom-image-loader'));
    return (await import(pathToFileURL(join(root, rel)).href)) as T;
  });
}

function runWasm(dec: WasmDecoder, data: Uint8Array): { bytes: Uint8Array; bits: number; components: number; signed: boolean } {
  dec.getEncodedBuffer(data.length).set(data);
  dec.decode();
  const fi = dec.getFrameInfo();
  return { bytes: dec.getDecodedBuffer().slice(), bits: fi.bitsPerSample, components: fi.componentCount, signed: fi.isSigned === true };
}

function view(bytes: Uint8Array, bits: number, signed: boolean): Samples {
  const copy = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  if (bits > 8) {
    return signed ? new Int16Array(copy.buffer, copy.byteOffset, copy.byteLength >> 1) : new Uint16Array(copy.buffer, copy.byteOffset, copy.byteLength >> 1);
  }
  return signed ? new Int8Array(copy.buffer, copy.byteOffset, copy.byteLength) : copy;
}

/** The part of dcmjs-codecs (IJG libjpeg 6b, 8/12/16-bit builds, in one wasm) Osteon uses. */
interface DcmjsCodecs {
  NativeCodecs: { initializeAsync(opts?: { logCodecsInfo?: boolean; logCodecsTrace?: boolean }): Promise<void>; decodeJpeg(ctx: unknown, p?: Record<string, unknown>): { getDecodedBuffer(): Uint8Array | undefined } };
  Context: new (attrs: Record<string, unknown>) => unknown;
}

/** dcmjs-codecs' wasm (next to its JS) loaded once per thread. */
function dcmjsCodecs(): Promise<DcmjsCodecs> {
  return once('dcmjs-codecs', async () => {
    const lib = require('dcmjs-codecs') as DcmjsCodecs;
    await lib.NativeCodecs.initializeAsync({ logCodecsInfo: false, logCodecsTrace: false });
    return lib;
  });
}

/**
 * JPEG extended 12-bit through IJG's 12-bit libjpeg (dcmjs-codecs), the same decoder dcmtk's
 * dcmdjpeg and GDCM (pydicom's handler) use. Cornerstone's jpeg.js (from pdf.js) is not used for
 * 12-bit: its level shift scales the rounding term by 4095/255 ((q + 2056·4095/255) >> 4 instead
 * of (q + 32776) >> 4), so every sample comes out 15 too high (docs/dicom.md).
 */
async function decodeJpeg12(data: Uint8Array, info: FrameInfo): Promise<Samples> {
  const { NativeCodecs, Context } = await dcmjsCodecs();
  const ctx = new Context({
    width: info.columns, height: info.rows, bitsAllocated: 16, bitsStored: info.bitsStored, samplesPerPixel: 1,
    pixelRepresentation: 0, planarConfiguration: 0, photometricInterpretation: 'MONOCHROME2', encodedBuffer: data,
  });
  const out = NativeCodecs.decodeJpeg(ctx, { convertColorspaceToRgb: false }).getDecodedBuffer();
  if (!out) throw new Error('12-bit JPEG decoder returned no pixels');
  return view(out.byteOffset % 2 === 0 ? out : out.slice(), 16, false);
}
interface RleFrame extends FrameInfo { pixelData?: Samples }

/** JPEG SOF marker precision (bits per sample) of a JPEG bitstream, or 0 if no SOF is found. */
function jpegPrecision(d: Uint8Array): number {
  for (let i = 2; i + 4 < d.length;) {
    if (d[i] !== 0xff) { i++; continue; }
    const m = d[i + 1];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return d[i + 4];
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7) || m === 0xff) { i += m === 0xff ? 1 : 2; continue; }
    i += 2 + ((d[i + 2] << 8) | d[i + 3]);
  }
  return 0;
}

/**
 * Decodes one frame's bitstream. Returns the samples as the codec produced them; the caller
 * reinterprets them per PixelRepresentation/BitsStored (dicom-pixels.ts).
 */
export async function decodeFrame(ts: string, data: Uint8Array, info: FrameInfo): Promise<Samples> {
  switch (ts) {
    case '1.2.840.10008.1.2.4.90':
    case '1.2.840.10008.1.2.4.91': {
      const r = runWasm(await wasmDecoder('@cornerstonejs/codec-openjpeg/decodewasmjs', 'J2KDecoder'), data);
      return view(r.bytes, r.bits, r.signed);
    }
    case '1.2.840.10008.1.2.4.201':
    case '1.2.840.10008.1.2.4.202':
    case '1.2.840.10008.1.2.4.203': {
      const r = runWasm(await wasmDecoder('@cornerstonejs/codec-openjph/wasmjs', 'HTJ2KDecoder'), data);
      return view(r.bytes, r.bits, r.signed);
    }
    case '1.2.840.10008.1.2.4.80':
    case '1.2.840.10008.1.2.4.81': {
      const r = runWasm(await wasmDecoder('@cornerstonejs/codec-charls/decodewasmjs', 'JpegLSDecoder'), data);
      return view(r.bytes, r.bits, false);
    }
    case '1.2.840.10008.1.2.4.50':
    case '1.2.840.10008.1.2.4.51': {
      if (jpegPrecision(data) <= 8) {
        const r = runWasm(await wasmDecoder('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', 'JPEGDecoder'), data);
        return view(r.bytes, r.bits, false);
      }
      return decodeJpeg12(data, info);
    }
    case '1.2.840.10008.1.2.4.57':
    case '1.2.840.10008.1.2.4.70': {
      const { Decoder } = await once('lossless', () => import('@cornerstonejs/jpeg-lossless-decoder-js'));
      const out = new Decoder().decode(data.buffer as ArrayBuffer, data.byteOffset, data.length, info.bitsAllocated <= 8 ? 1 : 2);
      const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
      return view(bytes, info.bitsAllocated <= 8 ? 8 : 16, false);
    }
    case '1.2.840.10008.1.2.5': {
      const { default: decodeRLE } = await loaderFile<{ default: (f: RleFrame, d: Uint8Array) => Promise<RleFrame> }>('shared/decoders/decodeRLE.js');
      const f = await decodeRLE({ ...info }, data);
      if (!f.pixelData) throw new Error('RLE decoder returned no pixels');
      return f.pixelData;
    }
    default:
      throw new Error(`no codec for transfer syntax ${ts}`);
  }
}
