// Kill points by counter, for the kill -9 fault tests (kill-points.test.ts). A kill -9 stops a
// process between two system calls, or inside a write after some of its bytes reached the file;
// the disk then holds exactly what was written so far (the OS keeps it: no power cut here). So
// instead of timing a SIGKILL, the work runs once with every file-system change counted, then
// again on an identical copy, and at each chosen count the folders are copied aside as they are
// at that moment: the state a kill at that point leaves. A write chosen as a kill point is torn
// first: only a seeded fraction of its bytes is written before the copy (then the rest, so the
// work goes on). One process runs many kill points; the checks (open, list, resume) then run on
// every copy as a fresh start would. This runs in the child (kill-child.ts), whose pid is dead by
// the time the copies are checked, as a killed writer's would be.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename, join } from 'node:path';

export interface KillPoint {
  /** The n-th file-system change (1-based) the kill lands on. */
  at: number;
  /** For a write: the fraction of its bytes written before the kill (0 = none). */
  frac: number;
}

export interface Snapshot extends KillPoint {
  /** Where the copies are: one folder per watched folder, by its name. */
  dir: string;
  /** The call the kill landed in or before, e.g. "renameSync cases/.import-x → cases/x". */
  op: string;
  /** Bytes of that call's data written before the kill (torn writes), else null. */
  torn: number | null;
  /** What the work had reported when the kill landed (`note`), e.g. the last epoch. */
  note?: unknown;
}

type AnyFn = (...a: unknown[]) => unknown;
const orig = { ...fs } as unknown as Record<string, AnyFn>;
const origP = { ...fs.promises } as unknown as Record<string, AnyFn>;

/** Copies a folder tree with the unpatched functions (symlinks as links). */
function copyTree(from: string, to: string): void {
  const st = fs.lstatSync(from, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isSymbolicLink()) return void orig.symlinkSync(fs.readlinkSync(from), to);
  if (st.isDirectory()) {
    orig.mkdirSync(to, { recursive: true });
    for (const n of fs.readdirSync(from)) copyTree(join(from, n), join(to, n));
    return;
  }
  if (st.isFile()) orig.writeFileSync(to, fs.readFileSync(from));
}

const WRITE_FLAGS = /[wa+]/;

function bytesOf(data: unknown, encoding?: unknown): Buffer | null {
  if (typeof data === 'string') return Buffer.from(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

/**
 * Runs `work` with every file-system change counted (and, with `points`, copies of `watch`
 * taken under `snapRoot` at those counts). Returns the count and the copies.
 */
export async function runWithKillPoints(
  watch: readonly string[], work: () => Promise<unknown>, points: readonly KillPoint[] = [], snapRoot = '', note?: () => unknown,
): Promise<{ total: number; snapshots: Snapshot[] }> {
  const byAt = new Map(points.map((p) => [p.at, p]));
  const snapshots: Snapshot[] = [];
  let n = 0;
  const rel = (p: unknown) => String(p).split('/').slice(-2).join('/');
  const snap = (kp: KillPoint, op: string, torn: number | null) => {
    const dir = join(snapRoot, String(kp.at));
    for (const w of watch) copyTree(w, join(dir, basename(w)));
    snapshots.push({ ...kp, dir, op, torn, ...(note ? { note: structuredClone(note()) } : {}) });
  };
  /** Counts one change; at a kill point, `tear` writes the torn prefix first (returns its size). */
  const hit = (op: string, tear?: (bytes: number) => void, size?: number): void => {
    n++;
    const kp = byAt.get(n);
    if (!kp) return;
    let torn: number | null = null;
    if (tear && size !== undefined && size > 0) {
      torn = Math.floor(kp.frac * size);
      tear(torn);
    }
    snap(kp, op, torn);
  };

  const sync: Record<string, AnyFn> = {
    mkdirSync: (p, o) => { hit(`mkdirSync ${rel(p)}`); return orig.mkdirSync(p, o); },
    rmSync: (p, o) => { hit(`rmSync ${rel(p)}`); return orig.rmSync(p, o); },
    rmdirSync: (p, o) => { hit(`rmdirSync ${rel(p)}`); return orig.rmdirSync(p, o); },
    unlinkSync: (p) => { hit(`unlinkSync ${rel(p)}`); return orig.unlinkSync(p); },
    renameSync: (a, b) => { hit(`renameSync ${rel(a)} → ${rel(b)}`); return orig.renameSync(a, b); },
    linkSync: (a, b) => { hit(`linkSync ${rel(a)} → ${rel(b)}`); return orig.linkSync(a, b); },
    symlinkSync: (a, b, t) => { hit(`symlinkSync ${rel(b)}`); return orig.symlinkSync(a, b, t); },
    truncateSync: (p, l) => { hit(`truncateSync ${rel(p)}`); return orig.truncateSync(p, l); },
    ftruncateSync: (fd, l) => { hit('ftruncateSync'); return orig.ftruncateSync(fd, l); },
    openSync: (p, flags, mode) => {
      if (typeof flags === 'string' ? WRITE_FLAGS.test(flags) : typeof flags === 'number' && (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR | fs.constants.O_CREAT)) !== 0) hit(`openSync ${rel(p)} ${String(flags)}`);
      return orig.openSync(p, flags, mode);
    },
    writeSync: (fd, data, a, b, c) => {
      // writeSync(fd, buffer, offset?, length?, position?) or (fd, string, position?, encoding?)
      let buf: Buffer | null, position: number | null;
      if (typeof data === 'string') { buf = bytesOf(data, b); position = typeof a === 'number' ? a : null; }
      else {
        const whole = bytesOf(data);
        const off = typeof a === 'number' ? a : 0;
        buf = whole ? whole.subarray(off, typeof b === 'number' ? off + b : undefined) : null;
        position = typeof c === 'number' ? c : null;
      }
      let done = 0;
      hit('writeSync', buf ? (k) => { done = k; if (k > 0) orig.writeSync(fd, buf!.subarray(0, k), 0, k, position); } : undefined, buf?.length);
      if (done === 0 || !buf) return orig.writeSync(fd, data, a, b, c);
      return done + (orig.writeSync(fd, buf.subarray(done), 0, buf.length - done, position === null ? null : position + done) as number);
    },
    writeFileSync: (p, data, o) => {
      const buf = typeof p === 'number' ? null : bytesOf(data, typeof o === 'object' && o ? (o as { encoding?: unknown }).encoding : o);
      let tore = false;
      hit(`writeFileSync ${rel(p)}`, buf ? (k) => { tore = true; orig.writeFileSync(p, buf.subarray(0, k)); } : undefined, buf?.length);
      if (tore) orig.rmSync(p, { force: true }); // the real write (maybe exclusive) starts from nothing
      return orig.writeFileSync(p, data, o);
    },
    appendFileSync: (p, data, o) => {
      const buf = typeof p === 'number' ? null : bytesOf(data, typeof o === 'object' && o ? (o as { encoding?: unknown }).encoding : o);
      let done = 0;
      hit(`appendFileSync ${rel(p)}`, buf ? (k) => { done = k; if (k > 0) orig.appendFileSync(p, buf.subarray(0, k)); } : undefined, buf?.length);
      if (done === 0 || !buf) return orig.appendFileSync(p, data, o);
      return orig.appendFileSync(p, buf.subarray(done));
    },
    copyFileSync: (a, b, m) => {
      let tore = false;
      const size = fs.statSync(a as string, { throwIfNoEntry: false })?.size ?? 0;
      hit(`copyFileSync ${rel(a)} → ${rel(b)}`, (k) => { tore = true; orig.writeFileSync(b, fs.readFileSync(a as string).subarray(0, k)); }, size);
      if (tore) orig.rmSync(b, { force: true });
      return orig.copyFileSync(a, b, m);
    },
    cpSync: (a, b, o) => { hit(`cpSync ${rel(a)} → ${rel(b)}`); return orig.cpSync(a, b, o); },
  };
  const promises: Record<string, AnyFn> = {
    mkdir: (p, o) => { hit(`mkdir ${rel(p)}`); return origP.mkdir(p, o); },
    rm: (p, o) => { hit(`rm ${rel(p)}`); return origP.rm(p, o); },
    unlink: (p) => { hit(`unlink ${rel(p)}`); return origP.unlink(p); },
    rename: (a, b) => { hit(`rename ${rel(a)} → ${rel(b)}`); return origP.rename(a, b); },
    link: (a, b) => { hit(`link ${rel(a)} → ${rel(b)}`); return origP.link(a, b); },
    cp: (a, b, o) => { hit(`cp ${rel(a)} → ${rel(b)}`); return origP.cp(a, b, o); },
    writeFile: (p, data, o) => {
      const buf = typeof p === 'string' ? bytesOf(data, typeof o === 'object' && o ? (o as { encoding?: unknown }).encoding : o) : null;
      let tore = false;
      hit(`writeFile ${rel(p)}`, buf ? (k) => { tore = true; orig.writeFileSync(p, buf.subarray(0, k)); } : undefined, buf?.length);
      if (tore) orig.rmSync(p, { force: true });
      return origP.writeFile(p, data, o);
    },
    appendFile: (p, data, o) => {
      const buf = typeof p === 'string' ? bytesOf(data) : null;
      let done = 0;
      hit(`appendFile ${rel(p)}`, buf ? (k) => { done = k; if (k > 0) orig.appendFileSync(p, buf.subarray(0, k)); } : undefined, buf?.length);
      return done === 0 || !buf ? origP.appendFile(p, data, o) : origP.appendFile(p, buf.subarray(done));
    },
    copyFile: (a, b, m) => {
      let tore = false;
      const size = fs.statSync(a as string, { throwIfNoEntry: false })?.size ?? 0;
      hit(`copyFile ${rel(a)} → ${rel(b)}`, (k) => { tore = true; orig.writeFileSync(b, fs.readFileSync(a as string).subarray(0, k)); }, size);
      if (tore) orig.rmSync(b, { force: true });
      return origP.copyFile(a, b, m);
    },
  };
  // Node's own fs functions call each other through the module object (writeFileSync opens with
  // fs.openSync): only the outermost call counts, and the copies are not counted at all.
  let busy = 0;
  for (const [k, f] of Object.entries(sync)) {
    sync[k] = (...a: unknown[]) => {
      if (busy) return orig[k](...a);
      busy++;
      try { return f(...a); } finally { busy--; }
    };
  }
  for (const [k, f] of Object.entries(promises)) {
    promises[k] = (...a: unknown[]) => {
      if (busy) return origP[k](...a);
      busy++;
      let r: unknown;
      try { r = f(...a); } finally { busy--; }
      return r;
    };
  }
  const fsObj = fs as unknown as Record<string, AnyFn>;
  const pObj = fs.promises as unknown as Record<string, AnyFn>;
  Object.assign(fsObj, sync);
  Object.assign(pObj, promises);
  syncBuiltinESMExports();
  try {
    await work();
  } finally {
    for (const k of Object.keys(sync)) fsObj[k] = orig[k];
    for (const k of Object.keys(promises)) pObj[k] = origP[k];
    syncBuiltinESMExports();
  }
  return { total: n, snapshots };
}

/** `count` distinct kill points in 1..total (all of them when there are fewer), seeded. */
export function choosePoints(total: number, count: number, next: () => number): KillPoint[] {
  const all = Array.from({ length: total }, (_, i) => i + 1);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, Math.min(count, total)).sort((a, b) => a - b).map((at) => ({ at, frac: next() }));
}
