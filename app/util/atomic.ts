import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OsteonError } from './errors.ts';
import { pidAlive, tempTag } from './temp.ts';

/** Errors that mean "the disk cannot take this write", reported as data, never as a stack. */
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM', 'EFBIG', 'EIO']);

/** An OsteonError (`io`) naming the file for a failed write; other errors pass through. */
export function writeError(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (e instanceof OsteonError || !code || !DISK_CODES.has(code)) return e;
  const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : code === 'EROFS' ? 'the disk is read-only' : code === 'EIO' ? 'an I/O error' : 'permission denied';
  return new OsteonError({ code: 'io', file: path, field: 'write', message: `${basename(path)}: write: ${why} (${code}); nothing was changed` }, { cause: e });
}

/**
 * Flushes a folder's entry table, so a rename inside it survives a power cut. Folders cannot be
 * opened for fsync on Windows (EISDIR/EPERM); there NTFS journals the rename itself.
 */
export function fsyncDir(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    closeSync(fd);
  }
}

/** Writes all of `data` to an open file descriptor (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  for (let pos = 0; pos < data.length;) pos += writeSync(fd, data, pos, Math.min(data.length - pos, 2 ** 30));
}

/**
 * Writes a file atomically: the bytes go to a temporary sibling opened for writing, are flushed
 * with fsync on that same (writable) handle — Windows refuses FlushFileBuffers on a read-only one —
 * the temporary file is renamed over the target, and the folder is fsynced so the rename itself
 * is durable. A crash leaves either the old file or the new one, never half of one; a full disk
 * leaves the old file and no temporary, and is reported as an `io` OsteonError naming the file.
 * The temporary name starts with '.' and ends in '.tmp' so listings skip it and
 * `sweepTemporaries` can remove what a kill left behind.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  // The writer's pid is in the name, so a later write can tell a killed writer's leftovers.
  const tmp = join(dir, `.${basename(path)}.${tempTag()}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    sweepDeadAtomicTemps(dir);
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncDir(dir);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(path, e);
  }
}

/** Writes JSON atomically, pretty-printed with a trailing newline. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** Whether a file name is one of writeFileAtomic's temporaries (`.<name>.<pid>-<hex>.tmp`, or without the pid from older versions). */
export function isAtomicTemp(name: string): boolean {
  return /^\..+\.(\d+-)?[0-9a-f]{12}\.tmp$/.test(name);
}

/**
 * Removes the temporaries that killed writers left in `dir` (their pid is gone): every atomic
 * write cleans its folder, so a kill -9 mid-write (a checkpoint, an export, a review) leaves no
 * orphan once the next write there happens. Never fails the write it precedes.
 */
function sweepDeadAtomicTemps(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      const m = /^\..+\.(\d+)-[0-9a-f]{12}\.tmp$/.exec(name);
      if (m && !pidAlive(Number(m[1]))) rmSync(join(dir, name), { recursive: true, force: true });
    }
  } catch {
    // a folder we cannot list: the write itself will say why
  }
}
