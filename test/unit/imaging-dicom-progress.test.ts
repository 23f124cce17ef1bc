// A 500-slice series, decoded off the calling thread with progress, and cancelled half-way.
// The series is made here from one real slice (the dcmqi CT crop, 96×80, RLE-compressed by dcmtk:
// test/fixtures/imaging/dicom-codecs/rle/01.dcm) rewritten 500 times by dcmjs with new positions
// and SOP instance UIDs; the compressed pixel data is copied, not re-encoded.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDicomSeriesAsync } from '../../app/imaging/dicom.ts';
import type { DecodeProgress } from '../../app/imaging/dicom-decode.ts';
import { OsteonError } from '../../app/util/errors.ts';
import { fixtures } from '../helpers/env.ts';

const N = 500;
const work = mkdtempSync(join(tmpdir(), 'osteon-dicom-500-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Writes `N` copies of `src` along z (0.5 mm apart), in shuffled file order, into `dir`. */
function makeSeries(src: string, dir: string): void {
  const buf = readFileSync(src);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const d = dcmjs.data.DicomMessage.readFile(ab) as unknown as { dict: Record<string, { vr?: string; Value: unknown[] }>; meta: Record<string, { Value: unknown[] }>; write(): ArrayBuffer };
  const ipp = d.dict['00200032'].Value as number[];
  for (let k = 0; k < N; k++) {
    d.dict['00200032'].Value = [ipp[0], ipp[1], -100 + 0.5 * k];
    const uid = `1.2.826.0.1.3680043.8.498.15500.${k + 1}`;
    d.dict['00080018'].Value = [uid];
    d.meta['00020003'].Value = [uid];
    d.dict['00200013'] = { vr: 'IS', Value: [k + 1] };
    // File names not in slice order: the reader sorts by position.
    writeFileSync(join(dir, `F${String((k * 7919) % N).padStart(4, '0')}`), Buffer.from(d.write()));
  }
}

describe(`a ${N}-slice series read off the calling thread`, () => {
  const rle = join(work, 'rle');
  const native = join(work, 'native');
  beforeAll(() => {
    for (const [dir, name] of [[rle, 'rle'], [native, 'explicit_le']]) {
      mkdirSync(dir, { recursive: true });
      const src = join(fixtures, 'imaging', 'dicom-codecs', name);
      makeSeries(join(src, readdirSync(src).sort()[0]), dir);
    }
  });

  it.each([['RLE, decoded in 2 worker threads', 'rle'], ['uncompressed', 'native']])('%s: progress rises by one per file to completion', async (_, which) => {
    const seen: DecodeProgress[] = [];
    const v = await readDicomSeriesAsync(which === 'rle' ? rle : native, { threads: 2, onProgress: (p) => seen.push(p) });
    expect(v.dims).toEqual([96, 80, N]);
    expect(seen.map((p) => p.done)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(new Set(seen.map((p) => p.total))).toEqual(new Set([N]));
    expect(new Set(seen.map((p) => p.file)).size).toBe(N);
    // Every slice holds the source slice's HU (same pixels at every position).
    const per = 96 * 80;
    expect(Array.from(v.data.subarray((N - 1) * per, N * per))).toEqual(Array.from(v.data.subarray(0, per)));
    expect(v.origin[2]).toBeCloseTo(-100, 6);
    expect(v.spacing[2]).toBeCloseTo(0.5, 6);
  });

  it.each([['RLE, in worker threads', 'rle'], ['uncompressed', 'native']])('%s: aborting at 50 files rejects with code "cancelled" and reports no more progress', async (_, which) => {
    const ctl = new AbortController();
    const seen: number[] = [];
    const read = readDicomSeriesAsync(which === 'rle' ? rle : native, {
      threads: 2,
      signal: ctl.signal,
      onProgress: (p) => { seen.push(p.done); if (p.done === 50) ctl.abort(); },
    });
    const err = await read.then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OsteonError);
    expect((err as OsteonError).code).toBe('cancelled');
    expect(seen.length).toBeGreaterThanOrEqual(50);
    expect(seen.length).toBeLessThan(N);
    const after = seen.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.length).toBe(after);
  });

  it('an already aborted signal rejects before any decode', async () => {
    const seen: number[] = [];
    const err = await readDicomSeriesAsync(rle, { signal: AbortSignal.abort(), onProgress: (p) => seen.push(p.done) }).then(() => null, (e: unknown) => e);
    expect((err as OsteonError).code).toBe('cancelled');
    expect(seen).toEqual([]);
  });
});
