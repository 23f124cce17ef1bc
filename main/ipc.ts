/**
 * Registers every contract call on ipcMain, from the contract's keys. Each call is answered
 * only for a trusted sender frame (our own page, main frame) and always as a Result:
 * Electron's `handle` would pass only an Error's message, so nothing is thrown across.
 */
import { ipcMain, type WebFrameMain } from 'electron';
import { callNames, channelOf, contract, type Contract } from '../app/contract/contract.ts';
import { fail, unwrap } from '../app/contract/result.ts';
import { createDispatcher, type Handlers, type Invoker } from '../app/contract/rpc.ts';
import { PATH_FIELDS, type PathGuard } from '../app/services/path-guard.ts';

/**
 * Handlers for main: every call is forwarded to the services process, except those given in
 * `local` (native dialogs), which main answers itself. Both sides validate against the schemas.
 */
export function forwardingHandlers(services: Invoker, local: Partial<Handlers<Contract>>): Handlers<Contract> {
  const forward = Object.fromEntries(callNames.map((name) => [name, async (req: unknown) => unwrap(await services.call(name, req))]));
  return { ...forward, ...local } as Handlers<Contract>;
}

/**
 * Paths are granted, not sent: a path field reaches the services only if a main-process dialog
 * returned it (granted in `guard`) or it lies inside the open project; otherwise `bad-request`.
 */
export function guardPaths(handlers: Handlers<Contract>, guard: PathGuard, projectDir: () => string | null): Handlers<Contract> {
  const out: Record<string, unknown> = { ...handlers };
  for (const name of Object.keys(PATH_FIELDS)) {
    const h = (handlers as Record<string, (req: unknown, ctx: unknown) => unknown>)[name];
    out[name] = (req: unknown, ctx: unknown) => {
      guard.check(name, req, projectDir());
      return h(req, ctx);
    };
  }
  return out as Handlers<Contract>;
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
