/**
 * File checks shared by the readers: exists, is a regular file, is not empty; bounded reads;
 * and `resolveDataFile`, the one rule for a header that names another file (NRRD `data file`,
 * MetaImage `ElementDataFile`, a NIfTI/Analyze .img): it must lie inside the header's own folder.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { badInput } from '../util/errors.ts';

/** A regular file's size; folders, devices, FIFOs and empty files are refused. */
export function requireFile(path: string, field = 'path'): number {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw badInput(path, field, 'file not found', 'not-found');
  }
  if (st.isDirectory()) throw badInput(path, field, 'is a folder, expected an image file');
  if (!st.isFile()) throw badInput(path, field, 'is not a regular file (a device, FIFO or socket)');
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

/** "4 173 281 000 bytes (3.89 GiB)": the true number and a readable size. */
export function sizeText(bytes: number): string {
  const gib = bytes / 2 ** 30;
  const human = gib >= 1 ? `${gib.toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${bytes} bytes (${human})`;
}

/**
 * The first `need` bytes of a file, read in 1 GiB pieces (works beyond readFileSync's 2 GiB
 * limit), or a clear error if the file is shorter. Only regular files are read, so a device such
 * as /dev/zero never feeds an allocation.
 */
export function readExactly(path: string, need: number, offset = 0): Buffer {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw badInput(path, 'data', 'is not a regular file');
    if (st.size < offset + need) throw badInput(path, 'data', `truncated: the file has ${st.size} bytes, the header needs ${offset + need}`);
    const out = Buffer.allocUnsafe(need);
    for (let pos = 0; pos < need;) {
      const n = readSync(fd, out, pos, Math.min(need - pos, 2 ** 30), offset + pos);
      if (n <= 0) throw badInput(path, 'data', `truncated while reading at byte ${offset + pos}`);
      pos += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/**
 * A whole file, refused clearly when it is not a regular file, is too large to hold in one
 * buffer, or (with `limit`) is larger than what its header can possibly need.
 */
export function readWhole(path: string, limit = MAX_WHOLE_FILE, why = 'compressed files over 2 GiB are not supported; decompress it first'): Buffer {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw badInput(path, 'path', 'is not a regular file (a device, FIFO or socket)');
    const max = Math.min(limit, MAX_WHOLE_FILE);
    if (st.size > max) throw badInput(path, 'path', `${sizeText(st.size)}: ${st.size > MAX_WHOLE_FILE ? 'compressed files over 2 GiB are not supported; decompress it first' : why}`, 'unsupported');
    const out = Buffer.allocUnsafe(st.size);
    let pos = 0;
    while (pos < st.size) {
      const n = readSync(fd, out, pos, st.size - pos, pos);
      if (n <= 0) break;
      pos += n;
    }
    return out.subarray(0, pos);
  } finally {
    closeSync(fd);
  }
}

/**
 * Upper bound on the compressed size of `payload` bytes: deflate's stored blocks add 5 bytes per
 * 64 KiB, plus gzip/zlib framing; anything larger cannot be an honest encoding of the claim.
 */
export function maxCompressedSize(payload: number, headerBytes = 0): number {
  return headerBytes + payload + Math.ceil(payload / 16384) * 5 + 64 * 1024;
}

/**
 * Resolves a file named inside `header` (NRRD `data file`, MetaImage `ElementDataFile`, ...).
 * The name must be relative, must stay inside the header's folder after every symlink is
 * followed (real paths compared), and must be a regular file. Returns the real path.
 */
export function resolveDataFile(header: string, name: string, field: string): string {
  if (name.length === 0 || name.length > 4096 || name.includes('\0')) throw badInput(header, field, 'empty or invalid file name');
  if (isAbsolute(name) || /^[a-zA-Z]:/.test(name) || name.startsWith('\\') || name.startsWith('/')) {
    throw badInput(header, field, `"${name}" is an absolute path; a data file must be named relative to the header's folder`);
  }
  const dir = dirname(resolve(header));
  const candidate = resolve(dir, name);
  if (!inside(dir, candidate)) throw badInput(header, field, `"${name}" leads outside the header's folder`);
  let realDir: string, real: string;
  try {
    realDir = realpathSync(dir);
  } catch {
    throw badInput(header, field, 'the header\'s folder cannot be resolved', 'not-found');
  }
  try {
    real = realpathSync(candidate);
  } catch {
    throw badInput(header, field, `"${name}" not found`, 'not-found');
  }
  if (!inside(realDir, real)) throw badInput(header, field, `"${name}" is a link that leads outside the header's folder`);
  const st = statSync(real);
  if (!st.isFile()) throw badInput(header, field, `"${name}" is not a regular file`);
  return real;
}

/** Whether `p` is `dir` itself or lies below it (both absolute). */
export function inside(dir: string, p: string): boolean {
  const r = relative(dir, p);
  return r === '' || (!r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r));
}
