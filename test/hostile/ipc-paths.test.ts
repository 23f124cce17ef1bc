// Paths are granted, not sent (app/services/path-guard.ts). Every channel that carries a path gets
// paths outside the grants (absolute system files, `..` escapes, a symlink inside an allowed folder
// that leads out, /proc) and must answer a bad-request naming the channel and the field, with the
// host still answering afterwards. Two hosts: the browser host's rule (roots given on the command
// line) on the real services, and Electron main's rule (only dialog answers and the open project)
// through the real main/ipc.ts with a fake `electron` (as in test/unit/contract-electron.test.ts).
// Malformed payloads on every channel are covered by test/unit/contract-fuzz.test.ts.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { contract, createDispatcher, type Contract, type Handlers, type Invoker } from '../../app/contract/index.ts';
import { writeNifti } from '../../app/imaging/nifti.ts';
import { PATH_FIELDS, PathGuard } from '../../app/services/path-guard.ts';
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

/** A valid request per path channel; the path fields get replaced. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  'project.create': { dir: join(allowed, 'p'), name: 'p' },
  'project.open': { dir: allowed },
  'case.import': { ct: inCt, labels: inCt, schema: join(allowed, 's.json') },
  'case.export': { caseId: 'c1', dir: join(allowed, 'e') },
  'case.attachPrediction': { caseId: 'c1', labels: inCt },
  'labels.scan': { labels: inCt },
  'labels.preview': { ct: inCt, labels: inCt, schema: { schema: 'osteon-labels/1', name: 'p', structures: [{ id: 'a' }] } },
  'files.list': { dir: allowed },
};

const OUTSIDE = ['/etc/passwd', '/proc/self/environ', join(allowed, '..', 'outside'), join(allowed, 'link-out'), join(allowed, 'link-out', 'x.nii.gz'), outside, '/'];

async function expectRefusals(call: (name: string, req: unknown) => Promise<{ ok: boolean; error?: { code: string; message: string } }>): Promise<void> {
  const bad: string[] = [];
  for (const [channel, fields] of Object.entries(PATH_FIELDS)) {
    for (const field of fields!) {
      for (const p of OUTSIDE) {
        const r = await call(channel, { ...EXAMPLES[channel], [field]: p });
        if (r.ok || r.error?.code !== 'bad-request' || !r.error.message.startsWith(`${channel}: ${field}: `)) bad.push(`${channel}.${field} = ${p}: ${JSON.stringify(r).slice(0, 200)}`);
      }
    }
  }
  expect(bad).toEqual([]);
}

describe('paths outside the grants', () => {
  it('covers every path-carrying channel of the contract', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(Object.keys(PATH_FIELDS).sort());
  });

  it('browser host rule: only inside the roots (and the open project); bad-request names the channel and field', async () => {
    const services = createServices({ host: 'test', home: join(root, 'home'), volumeUrl: () => '', pathGuard: new PathGuard([allowed], 'test roots') });
    const dispatch = createDispatcher(contract, services.handlers);
    await expectRefusals((n, r) => dispatch(n, r, undefined) as never);
    // Inside the roots the guard lets the request through (it then succeeds or fails on its own).
    const scan = await dispatch('labels.scan', { labels: inCt }, undefined);
    expect(scan.ok || !('error' in scan) || !scan.error.message.includes('outside the folders')).toBe(true);
    const created = await dispatch('project.create', { dir: join(allowed, 'proj'), name: 'p' }, undefined);
    expect(created.ok).toBe(true);
    // The host survives: a plain call still answers.
    expect((await dispatch('app.info', {}, undefined)).ok).toBe(true);
    services.dispose();
  });

  it('Electron main rule: only what a dialog granted, or inside the open project', async () => {
    const { forwardingHandlers, guardPaths, registerIpc } = await import('../../main/ipc.ts');
    const services = createServices({ host: 'test', home: join(root, 'home2'), volumeUrl: () => '' });
    const dispatch = createDispatcher(contract, services.handlers);
    const invoker: Invoker = { call: (n, r) => dispatch(n as never, r, undefined), on: () => () => {} };
    const guard = new PathGuard([], 'dialog grants');
    let projectDir: string | null = null;
    const frame = {};
    const unregister = registerIpc(guardPaths(forwardingHandlers(invoker, {} as Partial<Handlers<Contract>>), guard, () => projectDir), (f) => f === frame);
    const call = async (name: string, req: unknown) => (await fake.handlers.get(`osteon:${name}`)!({ senderFrame: frame }, req)) as { ok: boolean; error?: { code: string; message: string } };
    expect(fake.handlers.size).toBeGreaterThan(0);
    // Nothing granted yet: even the allowed folder is refused.
    expect((await call('labels.scan', { labels: inCt })).error?.message).toMatch(/^labels\.scan: labels: .*outside the folders/);
    guard.grant([inCt, join(allowed, 'proj2')]);
    await expectRefusals(call);
    const scan = await call('labels.scan', { labels: inCt });
    expect(scan.ok || !scan.error!.message.includes('outside the folders')).toBe(true);
    const created = await call('project.create', { dir: join(allowed, 'proj2'), name: 'p2' });
    expect(created.ok).toBe(true);
    projectDir = join(allowed, 'proj2');
    // Inside the open project is allowed without a grant.
    expect((await call('files.list', { dir: join(allowed, 'proj2', 'cases') })).ok).toBe(true);
    expect((await call('app.info', {})).ok).toBe(true);
    unregister();
    services.dispose();
  });
});
