/**
 * Registers every contract call on ipcMain, from the contract's keys. Each call is answered
 * only for a trusted sender frame (our own page, main frame) and always as a Result:
 * Electron's `handle` would pass only an Error's message, so nothing is thrown across.
 *
 * Paths are granted, not sent (app/services/path-guard.ts): main answers the dialogs itself and
 * hands the renderer grant ids, and every path channel is checked here, in main, before a
 * request is forwarded to the services process.
 */
import { statSync } from 'node:fs';
import { ipcMain, type WebFrameMain } from 'electron';
import { callNames, channelOf, contract, type Contract } from '../app/contract/contract.ts';
import { fail, unwrap } from '../app/contract/result.ts';
import { createDispatcher, type Handlers, type Invoker } from '../app/contract/rpc.ts';
import type { DialogPurpose } from '../app/contract/schemas.ts';
import { forwardingHandlers, guardPaths, type Access, type PathGuard } from '../app/services/path-guard.ts';

export { forwardingHandlers, guardPaths };

/** Main's native dialogs (Electron's `dialog`), injected so the grant logic runs in tests too. */
export interface NativeDialogs {
  /** An open dialog for `purpose`; the chosen paths, empty when cancelled. */
  open(purpose: Exclude<DialogPurpose, 'save'>, title?: string): Promise<string[]>;
  /** A save dialog; the path to write, or null when cancelled. */
  save(title?: string, defaultName?: string): Promise<string | null>;
  /** Asks the user whether Osteon may use these dropped files and folders. */
  confirmDrop(paths: readonly string[]): Promise<boolean>;
}

/** What a dialog's answer may be used for: projects and exports are written, imports only read. */
const ACCESS: Record<DialogPurpose, Access> = {
  'project-open': 'write', 'project-create': 'write', export: 'write', save: 'write',
  'import-ct': 'read', 'import-labels': 'read', 'import-schema': 'read',
};

/**
 * The calls main answers itself, all of which hand out grants: the dialogs, confirmed drops, and
 * two answers of the services whose paths the renderer sends back (the bundled presets become
 * read grants; the recent projects may be opened by their exact folder).
 */
export function grantHandlers(guard: PathGuard, dialogs: NativeDialogs, services: Invoker): Partial<Handlers<Contract>> {
  return {
    'dialog.open': async (req) => {
      if (req.purpose === 'save') {
        const p = await dialogs.save(req.title, req.defaultName);
        return { paths: p ? [guard.grant(p, 'write')] : [] };
      }
      return { paths: guard.grantAll(await dialogs.open(req.purpose, req.title), ACCESS[req.purpose]) };
    },
    'dialog.dropped': async (req) => {
      // Only existing files and folders; what they are is read here, not taken from the renderer.
      const found = req.paths.flatMap((p) => {
        try {
          const s = statSync(p);
          return s.isFile() || s.isDirectory() ? [{ p, dir: s.isDirectory() }] : [];
        } catch {
          return [];
        }
      });
      if (found.length === 0 || !(await dialogs.confirmDrop(found.map((f) => f.p)))) return { paths: [] };
      // A dropped folder may be opened as a project (written); a dropped file is only read.
      return { paths: found.map((f) => guard.grant(f.p, f.dir ? 'write' : 'read')) };
    },
    'schema.presets': async () => {
      const r = unwrap(await services.call('schema.presets', {})) as { presets: Array<{ path: string; schema: unknown }> };
      return { presets: r.presets.map((p) => ({ ...p, path: guard.grant(p.path, 'read') })) } as never;
    },
    'project.recent': async () => {
      const r = unwrap(await services.call('project.recent', {})) as { projects: Array<{ dir: string }> };
      guard.listedRecent(r.projects.map((p) => p.dir));
      return r as never;
    },
  };
}

/** Every call: forwarded to the services process, dialogs and grants answered here, paths guarded. */
export function mainHandlers(services: Invoker, guard: PathGuard, dialogs: NativeDialogs, projectDir: () => string | null): Handlers<Contract> {
  return guardPaths(forwardingHandlers(services, grantHandlers(guard, dialogs, services)), guard, projectDir);
}

export function registerIpc(handlers: Handlers<Contract>, isTrusted: (frame: WebFrameMain | null) => boolean): () => void {
  const dispatch = createDispatcher(contract, handlers);
  for (const name of callNames) {
    ipcMain.handle(channelOf(name), (event, payload: unknown) => {
      if (!isTrusted(event.senderFrame)) return fail('forbidden', `${name}: refused for an untrusted frame`);
      return dispatch(name, payload);
    });
  }
  return () => { for (const name of callNames) ipcMain.removeHandler(channelOf(name)); };
}
