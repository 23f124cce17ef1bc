// Paths are granted, not sent (app/services/path-guard.ts). Every channel that carries a path gets
// paths outside the grants (absolute system files, `..` escapes, a symlink inside an allowed folder
// that leads out, /proc), made-up and altered grant ids, and read grants where a write is asked,
// and must answer a bad-request naming the channel and the field, with the host still answering
// afterwards. Two rules: the browser host's (roots; the sample and presets read only) and
// Electron main's (grant ids from its dialogs, confirmed drops and preset list; the open
// project), the latter through the real main/ipc.ts with a fake `electron` (as in
// test/unit/contract-electron.test.ts). Malformed payloads on every channel, through both, are
// covered by test/unit/contract-fuzz.test.ts; the browser host's socket by test/integration/serve.test.ts.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { contract, createDispatcher, type Invoker } from '../../app/contract/index.ts';
import { Path } from '../../app/contract/schemas.ts';
import { writeNifti } from '../../app/imaging/nifti.ts';
import { guardPaths, PATH_FIELDS, PathGuard } from '../../app/services/path-guard.ts';
import { createServices } from '../../app/services/services.ts';
import { validCt } from './generate.ts';

type Handler = (event: { senderFrame: unknown }, payload: unknown) => unknown;
const fake = vi.hoisted(() => ({ handlers: new Map<string, Handler>() }));
vi.mock('electron', () => ({
  ipcMain: {
    handle: (ch: string, fn: Handler) => { fake.handlers.set(ch, fn); },
    removeHandler: (ch: string) => { fake.handlers.delete(ch); },
  },
}));

const root = mkdtempSync(join(tmpdir(), 'osteon-ipc-paths-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const allowed = join(root, 'allowed');
mkdirSync(allowed);
const outside = join(root, 'outside');
mkdirSync(outside);
symlinkSync(outside, join(allowed, 'link-out'));
const inCt = join(allowed, 'ct.nii.gz');
writeNifti(inCt, validCt());
writeNifti(join(outside, 'ct.nii.gz'), validCt());

const schema = { schema: 'osteon-labels/1', name: 'p', structures: [{ id: 'a', name: 'A', colour: '#ff0000', role: 'whole', source: { kind: 'labelmap', values: [1] } }] };

/** A valid request per path channel; the path fields get replaced. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'project.create': { dir: join(allowed, 'p'), name: 'p' },
  'project.open': { dir: allowed },
  'case.import': { ct: inCt, labels: inCt, schema: join(allowed, 's.json') },
  'case.export': { caseId: 'c1', dir: join(allowed, 'e') },
  'case.exportAs': { caseId: 'c1', source: 'labels', format: 'seg-nrrd', out: join(allowed, 'l.seg.nrrd') },
  'case.attachPrediction': { caseId: 'c1', labels: inCt },
  'case.importSeg': { caseId: 'c1', seg: inCt, as: 'prediction' },
  'dicom.series': { path: allowed },
  'labels.scan': { labels: inCt },
  'labels.preview': { ct: inCt, labels: inCt, schema },
  'files.list': { dir: allowed },
};

const OUTSIDE = [
  '/etc/passwd', '/proc/self/environ', join(allowed, '..', 'outside'), join(allowed, 'link-out'), join(allowed, 'link-out', 'ct.nii.gz'), outside, '/',
  // Grant-shaped text that no host issued, and traversal dressed up as one.
  `grant:${'0'.repeat(32)}/ct.nii.gz`, `grant:${'a'.repeat(32)}/../../etc/passwd`, 'grant:zz/ct.nii.gz',
];

type Answer = { ok: boolean; error?: { code: string; message: string } };

/** Allowed values for the path fields not under test: a readable and a writable one. */
interface Allowed { read: string; write: string }

/** The channel's example with every path field set to an allowed value of its access. */
function example(channel: string, ok: Allowed): Record<string, unknown> {
  const out = { ...EXAMPLES[channel] };
  for (const [f, access] of Object.entries(PATH_FIELDS[channel as keyof typeof PATH_FIELDS]!)) if (f in out) out[f] = ok[access];
  return out;
}

async function expectRefusals(call: (name: string, req: unknown) => Promise<Answer>, ok: Allowed, extra: string[] = []): Promise<void> {
  const bad: string[] = [];
  for (const [channel, fields] of Object.entries(PATH_FIELDS)) {
    for (const field of Object.keys(fields!)) {
      for (const p of [...OUTSIDE, ...extra]) {
        const r = await call(channel, { ...example(channel, ok), [field]: p });
        if (r.ok || r.error?.code !== 'bad-request' || !r.error.message.startsWith(`${channel}: ${field}: `)) bad.push(`${channel}.${field} = ${p}: ${JSON.stringify(r).slice(0, 200)}`);
      }
    }
  }
  expect(bad).toEqual([]);
}

/** An inline schema naming a mask file anywhere is refused on both channels that take one. */
async function expectInlineSchemaRefused(call: (name: string, req: unknown) => Promise<Answer>, ct: string): Promise<void> {
  const withFile = { ...schema, structures: [{ ...schema.structures[0], source: { kind: 'mask', file: '/etc/passwd' } }] };
  const a = await call('labels.preview', { ct, labels: ct, schema: withFile });
  expect(a.error?.message).toMatch(/^labels\.preview: schema\.structures\[0\]\.source\.file: an inline schema may not name files/);
  const b = await call('case.import', { ct, schemaInline: withFile });
  expect(b.error?.message).toMatch(/^case\.import: schemaInline\.structures\[0\]\.source\.file: /);
}

describe('paths outside the grants', () => {
  it('covers every path-carrying channel of the contract', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(Object.keys(PATH_FIELDS).sort());
    // Every request field typed as a path (schemas.ts Path, optional or not) is a guarded field:
    // a new channel with a path cannot slip past the guard.
    const typed: string[] = [];
    for (const [name, spec] of Object.entries(contract.calls)) {
      const shape = (spec.request as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
      for (const [field, t] of Object.entries(shape)) {
        const inner = t instanceof z.ZodOptional ? (t.unwrap() as z.ZodType) : t;
        if (inner === Path) typed.push(`${name}.${field}`);
      }
    }
    const guarded = Object.entries(PATH_FIELDS).flatMap(([n, f]) => Object.keys(f!).map((k) => `${n}.${k}`));
    expect(typed.sort()).toEqual(guarded.sort());
  });

  it('browser host rule: only inside the roots (and the open project); bad-request names the channel and field', async () => {
    const services = createServices({ host: 'test', home: join(root, 'home'), volumeUrl: () => '' });
    let projectDir: string | null = null;
    services.subscribe((n, p) => { if (n === 'project.changed') projectDir = (p as { project: { dir: string } | null }).project?.dir ?? null; });
    const readOnly = join(root, 'readonly');
    mkdirSync(readOnly);
    const guard = new PathGuard([{ dir: allowed, access: 'write' }, { dir: readOnly, access: 'read' }], 'test roots');
    const dispatch = createDispatcher(contract, guardPaths(services.handlers, guard, () => projectDir));
    const call = (n: string, r: unknown) => dispatch(n, r, undefined) as Promise<Answer>;
    await expectRefusals(call, { read: inCt, write: join(allowed, 'w') });
    await expectInlineSchemaRefused(call, inCt);
    // A read-only root may be read, never written.
    const w = await call('case.exportAs', { ...EXAMPLES['case.exportAs'], out: join(readOnly, 'x.seg.nrrd') });
    expect(w.error?.message).toMatch(/^case\.exportAs: out: .*read-only folder/);
    expect((await call('files.list', { dir: readOnly })).error?.code).not.toBe('bad-request');
    // Inside the roots the guard lets the request through (it then succeeds or fails on its own).
    const scan = await call('labels.scan', { labels: inCt });
    expect(scan.ok || !scan.error!.message.includes('outside the folders')).toBe(true);
    const created = await call('project.create', { dir: join(allowed, 'proj'), name: 'p' });
    expect(created.ok).toBe(true);
    // The host survives: a plain call still answers.
    expect((await call('app.info', {})).ok).toBe(true);
    services.dispose();
  });

  it('Electron main rule: only grant ids main issued, or paths inside the open project', async () => {
    const { mainHandlers, registerIpc } = await import('../../main/ipc.ts');
    const services = createServices({ host: 'test', home: join(root, 'home2'), volumeUrl: () => '' });
    const dispatch = createDispatcher(contract, services.handlers);
    let projectDir: string | null = null;
    services.subscribe((n, p) => { if (n === 'project.changed') projectDir = (p as { project: { dir: string } | null }).project?.dir ?? null; });
    const invoker: Invoker = { call: (n, r) => dispatch(n as never, r, undefined), on: () => () => {} };
    const guard = new PathGuard([], 'dialog grants');
    const picks: Record<string, string[]> = { 'import-ct': [inCt], 'project-create': [join(allowed, 'proj2')], export: [allowed] };
    const dialogs = { open: async (purpose: string) => picks[purpose] ?? [], save: async () => join(allowed, 'out.seg.nrrd'), confirmDrop: async () => true };
    const frame = {};
    const unregister = registerIpc(mainHandlers(invoker, guard, dialogs, () => projectDir), (f) => f === frame);
    const call = async (name: string, req: unknown) => (await fake.handlers.get(`osteon:${name}`)!({ senderFrame: frame }, req)) as Answer & { value?: unknown };
    expect(fake.handlers.size).toBeGreaterThan(0);
    // Nothing granted yet: even a real file is refused as text.
    expect((await call('labels.scan', { labels: inCt })).error?.message).toMatch(/^labels\.scan: labels: .*outside the folders/);
    const ctGrant = ((await call('dialog.open', { purpose: 'import-ct' })).value as { paths: string[] }).paths[0];
    const projGrant = ((await call('dialog.open', { purpose: 'project-create' })).value as { paths: string[] }).paths[0];
    const exportGrant = ((await call('dialog.open', { purpose: 'export' })).value as { paths: string[] }).paths[0];
    // The granted file as text is still refused (the grant is the id, not the path); so is a
    // grant for a folder used to reach inside it, and a read grant where Osteon would write.
    const ok = { read: ctGrant, write: exportGrant };
    await expectRefusals(call, ok, [join(allowed, 'ct.nii.gz'), `${exportGrant}/ct.nii.gz`, exportGrant.replace(/\/[^/]*$/, '/etc')]);
    for (const [channel, fields] of Object.entries(PATH_FIELDS)) {
      for (const [field, access] of Object.entries(fields!)) {
        if (access !== 'write') continue;
        const r = await call(channel, { ...example(channel, ok), [field]: ctGrant });
        expect(r.error?.message, `${channel}.${field}`).toMatch(new RegExp(`^${channel.replace('.', '\\.')}: ${field}: .*granted for reading only`));
      }
    }
    // The grant reaches the services as its path (a CT is no label map: their own answer).
    const scan = await call('labels.scan', { labels: ctGrant });
    expect(scan.error).toMatchObject({ code: 'bad-input', file: inCt });
    const created = await call('project.create', { dir: projGrant, name: 'p2' });
    expect(created.ok).toBe(true);
    expect(projectDir).toBe(join(allowed, 'proj2'));
    // Inside the open project is allowed without a grant.
    expect((await call('files.list', { dir: join(allowed, 'proj2', 'cases') })).ok).toBe(true);
    await expectInlineSchemaRefused(call, ctGrant);
    // Recent projects: exactly the folders main listed may be opened by path, nothing near them.
    await call('project.recent', {});
    expect((await call('project.open', { dir: join(allowed, 'proj2') })).ok).toBe(true);
    expect((await call('project.open', { dir: allowed })).error?.message).toMatch(/^project\.open: dir: .*outside/);
    expect((await call('app.info', {})).ok).toBe(true);
    unregister();
    services.dispose();
  });
});
