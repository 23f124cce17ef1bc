import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readVolume } from '../../app/imaging/io.ts';
import { loadLabelSchema } from '../../app/labels/schema.ts';
import { PHANTOM_SCHEMA } from '../../app/phantom/schema.ts';
import type { CliIo } from '../../app/cli/command.ts';
import { main } from '../../app/cli/main.ts';
import { runCli } from '../helpers/cli.ts';
import { hasPythonModule, python, repoRoot, skipNotice } from '../helpers/env.ts';

const dir = mkdtempSync(join(tmpdir(), 'osteon-phantom-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** All files under `root`, relative, sorted, with their bytes. */
function tree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function sameTree(a: Map<string, Buffer>, b: Map<string, Buffer>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k)?.equals(v) === true);
}

/** The real dispatcher in this process (exit codes as the binary), without a process start. */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = { code: -1, stdout: '', stderr: '' };
  const io: CliIo = { out: (t) => { r.stdout += t + '\n'; }, err: (t) => { r.stderr += t + '\n'; }, isTty: false };
  r.code = await main(argv, io);
  return r;
}

const args = ['--cases', '2', '--seed', '5', '--size', '24x24x16', '--spacing', '4'];

describe('osteon phantom', () => {
  const a = join(dir, 'a'), b = join(dir, 'b');
  const first = runCli(['phantom', '--out', a, ...args]);

  it('writes cases, schema, manifest and README', () => {
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Wrote 2 phantom cases .* \(seed 5, 24×24×16 at 4 mm\)/);
    expect([...tree(a).keys()]).toEqual(['README.md', 'case-000/ct.nii.gz', 'case-000/labels.nii.gz', 'case-001/ct.nii.gz', 'case-001/labels.nii.gz', 'manifest.json', 'schema.json']);
    expect(loadLabelSchema(join(a, 'schema.json'))).toEqual(PHANTOM_SCHEMA);
    const ct = readVolume(join(a, 'case-001', 'ct.nii.gz'));
    const labels = readVolume(join(a, 'case-001', 'labels.nii.gz'));
    expect(ct.dims).toEqual([24, 24, 16]);
    expect(ct.spacing).toEqual([4, 4, 4]);
    expect(ct.data).toBeInstanceOf(Int16Array);
    expect(labels.data).toBeInstanceOf(Uint8Array);
    const manifest = JSON.parse(readFileSync(join(a, 'manifest.json'), 'utf8')) as { items: { voxels: Record<string, number> }[] };
    const rim = Array.from(labels.data).filter((x) => x === 4).length;
    expect(manifest.items[1].voxels.rim).toBe(rim);
  });

  it('gives byte-identical files for the same seed, and refuses a non-empty --out', async () => {
    expect(runCli(['phantom', '--out', b, ...args]).code).toBe(0);
    expect(sameTree(tree(a), tree(b))).toBe(true);
    const before = tree(b);
    const again = await inProcess(['phantom', '--out', b, ...args, '--seed', '6']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/b: --out: exists and is not empty; pass --force to replace it/);
    expect(sameTree(tree(b), before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['a', 'b']);
  });

  it('--force replaces the set whole, leaving no temporary folders; --json gives the manifest', () => {
    const c = join(dir, 'c');
    mkdirSync(c);
    writeFileSync(join(c, 'old.txt'), 'old');
    const r = runCli(['phantom', '--out', c, '--cases', '1', '--seed', '6', '--size', '24x24x16', '--spacing', '4', '--force', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { ok: boolean; manifest: { seed: number; cases: number; items: unknown[] } };
    expect(j.ok).toBe(true);
    expect(j.manifest.seed).toBe(6);
    expect(j.manifest.items).toHaveLength(1);
    expect(readdirSync(c).sort()).toEqual(['README.md', 'case-000', 'manifest.json', 'schema.json']);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('reproduces the bundled sample (resources/sample/phantom) byte for byte', () => {
    const d = join(dir, 'sample');
    expect(runCli(['phantom', '--out', d, '--cases', '3', '--seed', '1']).code).toBe(0);
    expect(sameTree(tree(d), tree(join(repoRoot, 'resources', 'sample', 'phantom')))).toBe(true);
  });

  const nibabel = hasPythonModule('nibabel');
  if (!nibabel) skipNotice('phantom NIfTI read by nibabel', 'python3 nibabel');
  it.skipIf(!nibabel)('reads back in nibabel with the LPS→RAS affine', () => {
    // Origin is centred: LPS (-46, -46, -30) mm → RAS (46, 46, -30); axes flipped in x and y.
    const out = python(['-c', `import nibabel as nib, numpy as np
i = nib.load(${JSON.stringify(join(a, 'case-000', 'ct.nii.gz'))})
print(i.get_data_dtype(), i.shape, np.round(i.affine, 4).tolist())`]);
    expect(out.trim()).toBe('int16 (24, 24, 16) [[-4.0, -0.0, -0.0, 46.0], [-0.0, -4.0, -0.0, 46.0], [0.0, 0.0, 4.0, -30.0], [0.0, 0.0, 0.0, 1.0]]');
  });

  const badOptions: [string[], RegExp][] = [
    [['--size', '64x64'], /--size 64x64: expected XxYxZ/],
    [['--cases', '0'], /--cases 0: expected an integer in 1\.\.1000/],
    [['--seed=-1'], /--seed -1: expected an integer/],
    [['--spacing', 'abc'], /--spacing abc: expected a number/],
  ];
  it.each(badOptions)('exits 2 on bad options: %s', async (opts, message) => {
    const r = await inProcess(['phantom', '--out', join(dir, 'z'), ...opts]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(readdirSync(dir)).not.toContain('z');
  });

  it('exits 2 without --out', async () => {
    const r = await inProcess(['phantom']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out DIR is required/);
  });
});
