/**
 * Seeded mutation fuzzer, one target per reader. Each target has a valid seed file; an
 * iteration mutates it (bit flips, truncation, interesting bytes/integers at header offsets,
 * header-field mutation for text formats, dimension and type swaps), writes the result and
 * reads it. Outcomes: `ok` (accepted: many mutations are still valid files), `refused` (an input
 * OsteonError: exit 2), `crash` (anything else: a bug). Hangs are caught by the runner
 * (scripts/fuzz.mjs) with a watchdog around a worker thread.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { readDicomSeries } from '../../app/imaging/dicom.ts';
import { readVolume } from '../../app/imaging/io.ts';
import { writeMetaImage } from '../../app/imaging/metaimage.ts';
import { writeNifti } from '../../app/imaging/nifti.ts';
import { writeNrrd } from '../../app/imaging/nrrd.ts';
import { parseLabelSchema } from '../../app/labels/schema.ts';
import { readCheckpoint } from '../../app/learning/checkpoint.ts';
import { openProject } from '../../app/store/project.ts';
import { isInputError } from '../../app/util/errors.ts';
import { VALID_SCHEMA, dicomSlice, validCt } from './generate.ts';

/** xorshift32: a small seeded generator (same seed, same mutations). */
export class Rng {
  private s: number;
  constructor(seed: number) { this.s = (seed >>> 0) || 0x9e3779b9; }
  next(): number {
    let x = this.s;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.s = x;
    return x / 2 ** 32;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
}

export type Outcome = 'ok' | 'refused' | 'crash';

export interface Target {
  name: string;
  /** Text header (mutate lines) or binary (mutate bytes; `offsets` are header fields). */
  text: boolean;
  /** Header byte offsets of integer fields worth hitting (binary formats). */
  offsets?: Array<{ at: number; size: 2 | 4 | 8 }>;
  /** Writes the seed into `dir`; returns the file to mutate. */
  seed(dir: string): string;
  /** Reads the mutated file (the path to mutate, after writing). */
  read(file: string): unknown;
}

const INTERESTING = [0, 1, -1, 2, 3, 7, 8, 16, 127, 128, 255, 256, 348, 540, 1024, 32767, -32768, 65535, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1];
const TOKENS = ['0', '-1', '1', '3', '4', '65536', '4294967296', '1e308', '-1e308', 'NaN', 'Infinity', 'constructor', '__proto__', 'toString',
  '../../../../etc/passwd', '/etc/passwd', '/dev/zero', '', 'abc', 'LOCAL', 'gzip', 'raw', 'ascii', 'True', 'False', 'x'.repeat(5000), '(1,0,0)', 'none', '%d'];
const NRRD_TYPES = ['short', 'uchar', 'float', 'double', 'int', 'uint', 'signed char', 'block', 'int64', 'constructor'];
const MET_TYPES = ['MET_SHORT', 'MET_UCHAR', 'MET_FLOAT', 'MET_DOUBLE', 'MET_INT', 'MET_LONG_LONG', '__proto__'];
const NIFTI_CODES = [2, 4, 8, 16, 64, 256, 512, 768, 0, 1, 32, 128, 1024];

/** One mutation of `b` (several may be stacked). */
export function mutate(b: Buffer, t: Target, r: Rng): Buffer {
  let out = Buffer.from(b);
  const rounds = 1 + r.int(3);
  for (let k = 0; k < rounds; k++) {
    const op = r.int(t.text ? 7 : 6);
    if (out.length === 0) break;
    switch (op) {
      case 0: { // bit flips
        const n = 1 + r.int(8);
        for (let i = 0; i < n; i++) out[r.int(out.length)] ^= 1 << r.int(8);
        break;
      }
      case 1: // truncation
        out = out.subarray(0, r.int(out.length));
        break;
      case 2: { // interesting byte
        out[r.int(out.length)] = r.pick([0, 0xff, 0x7f, 0x80, 0x0a, 0x20, 0x3a]);
        break;
      }
      case 3: { // interesting integer at a header field (binary) or anywhere in the first 600 bytes
        const f = t.offsets?.length ? r.pick(t.offsets) : { at: r.int(Math.min(out.length, 600)), size: r.pick([2, 4] as const) };
        if (f.at + f.size > out.length) break;
        const v = r.pick(INTERESTING);
        if (f.size === 2) out.writeInt16LE(((v << 16) >> 16), f.at);
        else if (f.size === 4) out.writeInt32LE(v | 0, f.at);
        else out.writeBigInt64LE(BigInt(v), f.at);
        break;
      }
      case 4: { // dimension / type swap
        if (t.text) {
          const s = out.toString('latin1');
          const swapped = s
            .replace(/^(type: ).*$/m, `$1${r.pick(NRRD_TYPES)}`)
            .replace(/^(ElementType = ).*$/m, `$1${r.pick(MET_TYPES)}`)
            .replace(/^(sizes: |DimSize = )(\d+) (\d+) (\d+)/m, (_, k2: string, a: string, b2: string, c: string) => `${k2}${r.pick([a, b2, c, '0', '99999'])} ${c} ${r.pick([a, b2])}`)
            .replace(/^(dimension: |NDims = ).*$/m, `$1${r.pick(['2', '3', '4', '5', '0'])}`);
          out = Buffer.from(swapped, 'latin1');
        } else if (t.offsets?.length) {
          const dt = t.offsets.find((o) => o.at === 70);
          if (dt && out.length > 72) out.writeInt16LE(r.pick(NIFTI_CODES), 70);
          const d = 40 + 2 * (1 + r.int(3));
          if (out.length > d + 2) out.writeInt16LE(r.pick([0, 1, 4, 8, 16, 512, 32767, -1]), d);
        }
        break;
      }
      case 5: { // splice: duplicate a random chunk
        const a = r.int(out.length), n = r.int(Math.min(256, out.length - a));
        out = Buffer.concat([out.subarray(0, a), out.subarray(a, a + n), out.subarray(a)]);
        break;
      }
      case 6: { // header field mutation (text formats)
        const s = out.toString('latin1');
        const end = Math.max(s.indexOf('\n\n'), s.indexOf('ElementDataFile'));
        const head = end > 0 ? s.slice(0, end) : s.slice(0, 2000);
        const lines = head.split('\n');
        const i = r.int(lines.length);
        const sep = lines[i].includes(': ') ? ': ' : lines[i].includes(' = ') ? ' = ' : null;
        if (sep) {
          const key = lines[i].slice(0, lines[i].indexOf(sep));
          lines[i] = `${key}${sep}${r.pick(TOKENS)}`;
        } else {
          lines[i] = r.pick(TOKENS);
        }
        out = Buffer.from(lines.join('\n') + s.slice(head.length), 'latin1');
        break;
      }
    }
  }
  return out;
}

const NIFTI_OFFSETS: Array<{ at: number; size: 2 | 4 | 8 }> = [
  { at: 0, size: 4 }, ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ at: 40 + 2 * i, size: 2 as const })), { at: 70, size: 2 }, { at: 72, size: 2 },
  { at: 108, size: 4 }, { at: 252, size: 2 }, { at: 254, size: 2 },
];
const NIFTI2_OFFSETS: Array<{ at: number; size: 2 | 4 | 8 }> = [
  { at: 0, size: 4 }, ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => ({ at: 16 + 8 * i, size: 8 as const })), { at: 12, size: 2 }, { at: 168, size: 8 },
];

function small(dir: string): ReturnType<typeof validCt> {
  mkdirSync(dir, { recursive: true });
  return validCt();
}

export const TARGETS: Target[] = [
  { name: 'nifti1', text: false, offsets: NIFTI_OFFSETS, seed: (d) => { const p = join(d, 'seed.nii'); writeNifti(p, small(d)); return p; }, read: (f) => readVolume(f) },
  { name: 'nifti1-gz', text: false, seed: (d) => { const p = join(d, 'seed.nii.gz'); writeNifti(p, small(d)); return p; }, read: (f) => readVolume(f) },
  {
    name: 'nifti2', text: false, offsets: NIFTI2_OFFSETS,
    seed: (d) => {
      mkdirSync(d, { recursive: true });
      const b = Buffer.alloc(544 + 256 * 2);
      b.writeInt32LE(540, 0); b.write('n+2\0\r\n\x1a\n', 4, 'latin1'); b.writeInt16LE(4, 12); b.writeInt16LE(16, 14);
      [3, 8, 8, 4, 1, 1, 1, 1].forEach((x, i) => b.writeBigInt64LE(BigInt(x), 16 + 8 * i));
      [1, 1, 1, 2, 0, 0, 0, 0].forEach((x, i) => b.writeDoubleLE(x, 104 + 8 * i));
      b.writeBigInt64LE(544n, 168); b.writeDoubleLE(1, 176);
      const p = join(d, 'seed.nii');
      writeFileSync(p, b);
      return p;
    },
    read: (f) => readVolume(f),
  },
  { name: 'nrrd', text: true, seed: (d) => { const p = join(d, 'seed.nrrd'); writeNrrd(p, small(d), { encoding: 'raw' }); return p; }, read: (f) => readVolume(f) },
  { name: 'nrrd-gzip', text: true, seed: (d) => { const p = join(d, 'seed.nrrd'); writeNrrd(p, small(d)); return p; }, read: (f) => readVolume(f) },
  {
    name: 'nhdr', text: true,
    seed: (d) => {
      const v = small(d);
      writeFileSync(join(d, 'seed.raw'), Buffer.from(v.data.buffer));
      const p = join(d, 'seed.nhdr');
      writeFileSync(p, 'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 8 8 4\nspace directions: (1,0,0) (0,1,0) (0,0,2)\nendian: little\nencoding: raw\ndata file: seed.raw\n\n');
      return p;
    },
    read: (f) => readVolume(f),
  },
  { name: 'mha', text: true, seed: (d) => { const p = join(d, 'seed.mha'); writeMetaImage(p, small(d), { compress: false }); return p; }, read: (f) => readVolume(f) },
  { name: 'mha-zlib', text: true, seed: (d) => { const p = join(d, 'seed.mha'); writeMetaImage(p, small(d)); return p; }, read: (f) => readVolume(f) },
  {
    name: 'mhd', text: true,
    seed: (d) => {
      const v = small(d);
      writeFileSync(join(d, 'seed.zraw'), deflateSync(Buffer.from(v.data.buffer)));
      const p = join(d, 'seed.mhd');
      writeFileSync(p, 'ObjectType = Image\nNDims = 3\nBinaryData = True\nCompressedData = True\nDimSize = 8 8 4\nElementSpacing = 1 1 2\nElementType = MET_SHORT\nElementDataFile = seed.zraw\n');
      return p;
    },
    read: (f) => readVolume(f),
  },
  {
    name: 'dicom', text: false,
    seed: (d) => {
      mkdirSync(join(d, 'series'), { recursive: true });
      writeFileSync(join(d, 'series', 'b.dcm'), dicomSlice(1));
      const p = join(d, 'series', 'a.dcm');
      writeFileSync(p, dicomSlice(0));
      return p;
    },
    read: (f) => readDicomSeries(join(f, '..')),
  },
  { name: 'schema', text: true, seed: (d) => { mkdirSync(d, { recursive: true }); const p = join(d, 'schema.json'); writeFileSync(p, JSON.stringify(VALID_SCHEMA, null, 1)); return p; }, read: (f) => parseLabelSchema(readFileSync(f, 'utf8'), f) },
  {
    name: 'project.json', text: true,
    seed: (d) => {
      mkdirSync(join(d, 'cases'), { recursive: true });
      const p = join(d, 'project.json');
      writeFileSync(p, JSON.stringify({ format: 'osteon-project', schemaVersion: 1, name: 'p', created: '2026-01-01T00:00:00.000Z', cases: [{ id: 'a', name: 'a', importedAt: '2026-01-01T00:00:00.000Z', status: 'imported', files: { ct: 'ct.nii.gz' }, sources: { ct: '/x/ct.nii.gz' } }], runs: [] }, null, 1));
      return p;
    },
    read: (f) => openProject(join(f, '..')),
  },
  {
    name: 'checkpoint', text: false,
    seed: (d) => {
      mkdirSync(d, { recursive: true });
      const h = Buffer.from(JSON.stringify({ format: 'osteon-checkpoint/1', epoch: 3, meta: { a: 1 }, tensors: [{ name: 'param:w', shape: [2, 4], dtype: 'float32', offset: 0, length: 8 }, { name: 'opt:w/m', shape: [8], dtype: 'float32', offset: 32, length: 8 }] }));
      const b = Buffer.alloc(12 + h.length + 64);
      b.write('OSTNCKPT'); b.writeUInt32LE(h.length, 8); h.copy(b, 12);
      const p = join(d, 'seed.ckpt');
      writeFileSync(p, b);
      return p;
    },
    read: (f) => readCheckpoint(f),
  },
];

export interface FuzzResult { ok: number; refused: number; crash: number; crashes: string[] }

/** Runs iterations [start, start + n) of `target` with `seed`, in `dir` (made fresh). */
export function fuzz(target: Target, dir: string, seed: number, start: number, n: number, onEach?: (i: number, o: Outcome) => void): FuzzResult {
  rmSync(dir, { recursive: true, force: true });
  const seedDir = join(dir, 'seed');
  const seedFile = target.seed(seedDir);
  const original = readFileSync(seedFile);
  const res: FuzzResult = { ok: 0, refused: 0, crash: 0, crashes: [] };
  const work = join(dir, 'work');
  for (let i = start; i < start + n; i++) {
    const r = new Rng(seed * 1_000_003 + i);
    rmSync(work, { recursive: true, force: true });
    cpSync(seedDir, work, { recursive: true });
    const file = join(work, seedFile.slice(seedDir.length + 1));
    writeFileSync(file, mutate(original, target, r));
    let o: Outcome;
    try {
      target.read(file);
      o = 'ok';
    } catch (e) {
      if (isInputError(e)) o = 'refused';
      else {
        o = 'crash';
        if (res.crashes.length < 20) res.crashes.push(`${target.name} #${i}: ${(e as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
      }
    }
    res[o]++;
    onEach?.(i, o);
  }
  rmSync(dir, { recursive: true, force: true });
  return res;
}
