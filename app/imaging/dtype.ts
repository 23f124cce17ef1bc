/**
 * Voxel data types shared by every format reader/writer: names, sizes, typed-array
 * constructors and the per-format codes (NIfTI-1 `datatype`, NRRD `type`, MetaImage `ElementType`).
 */
import type { VoxelArray } from './volume.ts';

export type DType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export const DTYPES: readonly DType[] = ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'];

type ArrayCtor = { new (n: number): VoxelArray; new (buf: ArrayBufferLike, byteOffset: number, length: number): VoxelArray; BYTES_PER_ELEMENT: number };

const CTORS: Record<DType, ArrayCtor> = {
  uint8: Uint8Array, int8: Int8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, float32: Float32Array, float64: Float64Array,
};

export function bytesOf(t: DType): number {
  return CTORS[t].BYTES_PER_ELEMENT;
}

export function allocate(t: DType, n: number): VoxelArray {
  return new CTORS[t](n);
}

export function dtypeOf(a: VoxelArray): DType {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint32Array) return 'uint32';
  if (a instanceof Float32Array) return 'float32';
  return 'float64';
}

export function isFloat(t: DType): boolean {
  return t === 'float32' || t === 'float64';
}

/**
 * Typed array of `n` voxels of type `t` from `bytes[offset..]`, stored with the given
 * endianness. Aligned native-order data becomes a view (no copy); otherwise it is copied
 * (and byte-swapped when the file's order differs from this machine's, which is little-endian).
 */
export function voxelsFromBytes(t: DType, bytes: Uint8Array, offset: number, n: number, littleEndian: boolean): VoxelArray {
  const size = bytesOf(t);
  const start = bytes.byteOffset + offset;
  if (littleEndian || size === 1) {
    if (start % size === 0) return new CTORS[t](bytes.buffer, start, n);
    const copy = new Uint8Array(n * size);
    copy.set(bytes.subarray(offset, offset + n * size));
    return new CTORS[t](copy.buffer, 0, n);
  }
  const copy = new Uint8Array(n * size);
  const src = bytes.subarray(offset, offset + n * size);
  for (let i = 0; i < src.length; i += size) for (let b = 0; b < size; b++) copy[i + b] = src[i + size - 1 - b];
  return new CTORS[t](copy.buffer, 0, n);
}

/** The voxel bytes (little-endian, as this machine stores them), without a copy. */
export function voxelBytes(a: VoxelArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** NIfTI-1 `datatype` codes (nifti1.h DT_*). */
export const NIFTI_CODES: Record<DType, number> = {
  uint8: 2, int16: 4, int32: 8, float32: 16, float64: 64, int8: 256, uint16: 512, uint32: 768,
};

export const NIFTI_CODE_NAMES: Record<number, string> = {
  0: 'DT_UNKNOWN', 1: 'DT_BINARY', 32: 'DT_COMPLEX64', 128: 'DT_RGB24', 1024: 'DT_INT64', 1280: 'DT_UINT64',
  1536: 'DT_FLOAT128', 1792: 'DT_COMPLEX128', 2048: 'DT_COMPLEX256', 2304: 'DT_RGBA32',
};

export function dtypeFromNiftiCode(code: number): DType | undefined {
  for (const t of DTYPES) if (NIFTI_CODES[t] === code) return t;
  return undefined;
}
