/** File checks shared by the readers: exists, is a file, is not empty; reading a prefix. */
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { badInput } from '../util/errors.ts';

export function requireFile(path: string): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw badInput(path, 'path', 'file not found', 'not-found');
  }
  if (st.isDirectory()) throw badInput(path, 'path', 'is a folder, expected an image file');
  if (st.size === 0) throw badInput(path, 'header', 'the file is empty');
  return st.size;
}

/** The first `n` bytes of a file (fewer if it is shorter). */
export function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Largest file read whole into memory (Node's readFileSync limit is 2 GiB). */
const MAX_WHOLE_FILE = 2 ** 31 - 1;

/**
 * The first `need` bytes of a file, read in 1 GiB pieces (works beyond readFileSync's 2 GiB
 * limit), or a clear error if the file is shorter.
 */
export function readExactly(path: string, need: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < need) throw badInput(path, 'data', `truncated: the file has ${size} bytes, the header needs ${need}`);
    const out = Buffer.allocUnsafe(need);
    for (let pos = 0; pos < need;) {
      const n = readSync(fd, out, pos, Math.min(need - pos, 2 ** 30), pos);
      if (n <= 0) throw badInput(path, 'data', `truncated while reading at byte ${pos}`);
      pos += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** A whole (compressed) file, refused clearly when it is too large to hold in one buffer. */
export function readWhole(path: string): Buffer {
  const size = statSync(path).size;
  if (size > MAX_WHOLE_FILE) throw badInput(path, 'path', `${size} bytes: compressed files over 2 GiB are not supported; decompress it first`, 'unsupported');
  return readFileSync(path);
}
