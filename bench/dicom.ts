/**
 * Bench suite `dicom`: reading a 512×512×300 JPEG 2000 (lossless) CT series — what a PACS export
 * holds — with Osteon (`readDicomSeriesAsync`: headers, sorting, decode in worker threads with
 * OpenJPEG/wasm, HU) versus pydicom 2.3 (dcmread + pixel_array through its Pillow/GDCM handlers
 * + apply_modality_lut + stack, sorted along the normal), on the same files in the same run,
 * with the voxels checked to agree (sha256 of the int16 HU volume). The two alternate run by run
 * (so both see the same machine load); the suite prints the wall-time ratio (median of --repeats
 * runs each), the CPU-time ratio (all threads) and the load average before and after.
 *
 * The series: the 3 real 512² slices of ../shared/data's dcmqi CT (or, without ../shared, a
 * synthetic CT slice), each compressed once with GDCM (`gdcmconv --j2k`), then written 100 times
 * each by pydicom with new positions and UIDs (the codestreams are copied, not re-encoded).
 * Cached in the OS temp folder between runs.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRecord, BenchSuite } from '../app/cli/bench-types.ts';
import { timeStats } from '../app/cli/bench-types.ts';
import { readDicomSeriesAsync } from '../app/imaging/dicom.ts';
import { defaultThreads } from '../app/imaging/dicom-decode.ts';
import { parseDicom } from '../app/imaging/dicom-parse.ts';
import { storedFrames } from '../app/imaging/dicom-pixels.ts';

const SLICES = 300;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const MAKE = String.raw`
import os, sys, copy, subprocess, tempfile
import numpy as np, pydicom
from pydicom.uid import generate_uid
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tmp = tempfile.mkdtemp(); os.makedirs(out, exist_ok=True)
names = sorted(os.listdir(src))
comp = []
for i, f in enumerate(names):
    d = os.path.join(tmp, f'c{i}.dcm')
    subprocess.run(['gdcmconv', '--j2k', os.path.join(src, f), d], check=True)
    comp.append(pydicom.dcmread(d))
series = generate_uid()
for k in range(n):
    ds = copy.deepcopy(comp[k % len(comp)])
    ipp = [float(x) for x in comp[0].ImagePositionPatient]
    ds.ImagePositionPatient = [f'{ipp[0]:.4f}', f'{ipp[1]:.4f}', f'{ipp[2] + k * 1.0:.4f}']
    ds.SeriesInstanceUID = series; ds.SOPInstanceUID = generate_uid(); ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = k + 1
    ds.save_as(os.path.join(out, f'IM{k:04d}'))
`;

const PYDICOM_ONE = String.raw`
import sys, json, resource, pydicom
f, n = sys.argv[1], int(sys.argv[2]); pydicom.dcmread(f).pixel_array
r0 = resource.getrusage(resource.RUSAGE_SELF)
for _ in range(n): a = pydicom.dcmread(f).pixel_array
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({'cpu_ms': ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)) / n * 1000}))
`;

const PYDICOM = String.raw`
import os, sys, time, json, hashlib, resource
import numpy as np, pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
folder = sys.argv[1]
r0 = resource.getrusage(resource.RUSAGE_SELF)
t = time.perf_counter()
ds = [pydicom.dcmread(os.path.join(folder, f)) for f in sorted(os.listdir(folder))]
iop = np.array(ds[0].ImageOrientationPatient, float); nrm = np.cross(iop[:3], iop[3:])
ds.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), nrm)))
vol = np.stack([apply_modality_lut(d.pixel_array, d) for d in ds])
wall = time.perf_counter() - t
r1 = resource.getrusage(resource.RUSAGE_SELF)
h = hashlib.sha256(vol.astype('<i2').tobytes()).hexdigest()
handlers = [h.__name__.split('.')[-1] for h in pydicom.config.pixel_data_handlers if h.is_available()]
print(json.dumps({'wall': wall, 'cpu': (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), 'sha256': h, 'pydicom': pydicom.__version__, 'handlers': handlers}))
`;

function series(ctx: { notice(t: string): void }): string | null {
  const dir = join(tmpdir(), `osteon-bench-dicom-j2k-${SLICES}`);
  if (existsSync(dir) && readdirSync(dir).length === SLICES) return dir;
  const src = join(repoRoot, '..', 'shared', 'data', 'dcmqi-ct3slice-spine', 'dicom');
  const fallback = join(repoRoot, 'test', 'fixtures', 'imaging', 'dcmqi', 'dicom');
  const from = existsSync(src) ? src : fallback;
  ctx.notice(`making the ${SLICES}-slice JPEG 2000 series from ${from} (gdcmconv --j2k, once)`);
  const r = spawnSync('/usr/bin/python3', ['-c', MAKE, from, dir, String(SLICES)], { encoding: 'utf8' });
  if (r.status !== 0) { ctx.notice(`cannot make the series: ${r.stderr.trim().split('\n').pop() ?? ''}`); return null; }
  return dir;
}

export const suite: BenchSuite = {
  name: 'dicom',
  description: `JPEG 2000 CT series read, 512×512×${SLICES} (vs pydicom)`,
  async run(ctx) {
    const dir = series(ctx);
    if (!dir) return [];
    const threads = defaultThreads(SLICES);
    // Osteon and pydicom alternate (O, P, O, P, ...) so that both see the same load; wall time
    // and CPU time (all threads of the process) of each run.
    const load0 = loadavg();
    const times: number[] = [], cpus: number[] = [], refTimes: number[] = [], refCpus: number[] = [];
    let sha = '', ref: { sha256: string; pydicom: string; handlers: string[] } | null = null;
    for (let r = 0; r < ctx.repeats; r++) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      const v = await readDicomSeriesAsync(dir);
      times.push((performance.now() - t) / 1000);
      const c = process.cpuUsage(c0);
      cpus.push((c.user + c.system) / 1e6);
      if (r === 0) {
        const i16 = Int16Array.from(v.data, (x) => Math.round(x));
        sha = createHash('sha256').update(new Uint8Array(i16.buffer)).digest('hex');
      }
      const py = spawnSync('/usr/bin/python3', ['-c', PYDICOM, dir], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      if (py.status !== 0) { ctx.notice(`pydicom reference failed: ${py.stderr.trim().split('\n').pop() ?? ''}`); continue; }
      const j = JSON.parse(py.stdout) as { wall: number; cpu: number; sha256: string; pydicom: string; handlers: string[] };
      refTimes.push(j.wall);
      refCpus.push(j.cpu);
      ref = j;
    }
    const load1 = loadavg();
    const cores = availableParallelism();
    const rec: BenchRecord = { name: `read J2K lossless series 512×512×${SLICES} (${threads} decode threads)`, unit: 's', ...timeStats(times) };
    const loads = `load average ${load0.map((x) => x.toFixed(1)).join('/')} before, ${load1.map((x) => x.toFixed(1)).join('/')} after, ${cores} cores`;
    if (ref) {
      const median = timeStats(refTimes).median;
      rec.reference = { name: `pydicom ${ref.pydicom} (${ref.handlers.join('+')})`, median };
      rec.ratio = rec.median / median;
      rec.ok = ref.sha256 === sha;
      const cpu = timeStats(cpus).median, refCpu = timeStats(refCpus).median;
      rec.detail = `${rec.ok ? 'HU volumes identical' : 'HU volumes DIFFER'}; CPU ${cpu.toFixed(1)} s (all threads) vs ${refCpu.toFixed(1)} s; ${loads}`;
      ctx.notice(`ratio Osteon / pydicom, wall (median of ${times.length}): ${rec.ratio.toFixed(2)} (${rec.median.toFixed(1)} s vs ${median.toFixed(1)} s); CPU: ${(cpu / refCpu).toFixed(2)} (${cpu.toFixed(1)} s vs ${refCpu.toFixed(1)} s); ${loads}`);
    } else {
      rec.detail = loads;
    }
    // CPU time per slice, one thread each: comparable even when the machine is loaded.
    const one = join(dir, readdirSync(dir).sort()[0]);
    const f = parseDicom(one, readFileSync(one));
    await storedFrames(f);
    const n = 10 * ctx.repeats;
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) await storedFrames(parseDicom(one, readFileSync(one)));
    const c = process.cpuUsage(c0);
    const cpu = (c.user + c.system) / 1000 / n;
    const slice: BenchRecord = { name: 'decode one 512² J2K slice, CPU time, 1 thread', unit: 'ms', median: cpu, min: cpu, max: cpu, n };
    const p1 = spawnSync('/usr/bin/python3', ['-c', PYDICOM_ONE, one, String(n)], { encoding: 'utf8' });
    if (p1.status === 0) {
      const ref = JSON.parse(p1.stdout) as { cpu_ms: number };
      slice.reference = { name: 'pydicom dcmread+pixel_array', median: ref.cpu_ms };
      slice.ratio = cpu / ref.cpu_ms;
    }
    return [rec, slice];
  },
};
