/**
 * Paths are granted, not sent. A request's path fields (PATH_FIELDS) reach the services only as
 * - a **grant id** this host handed out (`grant:<32 hex>/<name>`): Electron main issues one for
 *   every path a main-process dialog returned, for dropped files the user confirmed in a main
 *   dialog, and for the bundled presets it lists; the id is random (128 bits), the `/<name>`
 *   tail is only for display and must come back unchanged; main swaps the id for its path;
 * - a path inside the **open project**;
 * - a path inside a **root** (the browser host: the project folder and every `--root`, read and
 *   write; the bundled sample and presets, read only);
 * - for `project.open` only, exactly a recent project folder this host listed (`project.recent`).
 * Anything else is a `bad-request` naming the channel and the field, before a handler touches
 * the disk. Real paths are compared (a symlink cannot lead out); a path that does not exist yet
 * (a new project or export folder) is judged by its nearest existing ancestor. Fields that write
 * (a project, an export) need a root or grant that allows writing; reading fields take either.
 * An inline label schema (the wizard's edited mapping) may not name mask files: it has no folder
 * of its own for them to be relative to.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { CallName, Contract } from '../contract/contract.ts';
import { ContractError, unwrap } from '../contract/result.ts';
import { callNames } from '../contract/contract.ts';
import type { Handlers, Invoker } from '../contract/rpc.ts';
import { inside } from '../imaging/files.ts';

export type Access = 'read' | 'write';

/** Every request field that carries a file-system path, per channel, and what the handler does with it. */
export const PATH_FIELDS: Partial<Record<CallName, Readonly<Record<string, Access>>>> = {
  'project.create': { dir: 'write' },
  'project.open': { dir: 'write' },
  'case.import': { ct: 'read', labels: 'read', schema: 'read' },
  'case.export': { dir: 'write' },
  'case.exportAs': { out: 'write' },
  'case.attachPrediction': { labels: 'read' },
  'case.importSeg': { seg: 'read' },
  'dicom.series': { path: 'read' },
  'labels.scan': { labels: 'read' },
  'labels.preview': { ct: 'read', labels: 'read' },
  'files.list': { dir: 'read' },
};

/** Request fields holding an inline label schema, whose mask sources must not name files. */
export const INLINE_SCHEMA_FIELDS: Partial<Record<CallName, readonly string[]>> = {
  'case.import': ['schemaInline'],
  'labels.preview': ['schema'],
};

const GRANT = /^grant:[0-9a-f]{32}(\/|$)/;

/** Whether a path field's value is a grant id (rather than a path). */
export function isGrantId(v: string): boolean {
  return GRANT.test(v);
}

/** The real path of `p`, or of its nearest existing ancestor joined with the rest. */
export function realish(p: string): string {
  let cur = resolve(p);
  const rest: string[] = [];
  for (;;) {
    if (existsSync(cur)) {
      try {
        return join(realpathSync(cur), ...rest.reverse());
      } catch {
        return join(cur, ...rest.reverse());
      }
    }
    const up = dirname(cur);
    if (up === cur) return join(cur, ...rest.reverse());
    rest.push(basename(cur));
    cur = up;
  }
}

export interface Root {
  dir: string;
  access: Access;
}

interface Grant {
  path: string;
  access: Access;
}

/** Most grants kept; the oldest go first (a session grants a few per import). */
const MAX_GRANTS = 10_000;

export class PathGuard {
  readonly #roots: Root[];
  /** grant id (with its display tail) → what it stands for. */
  readonly #grants = new Map<string, Grant>();
  /** access + path → grant id, so asking again for the same path gives the same id. */
  readonly #ids = new Map<string, string>();
  /** Real paths of the recent projects this host listed: project.open may name them. */
  #recent = new Set<string>();
  /** Where the rule comes from, for messages ("roots given on the command line", "dialog grants"). */
  readonly #what: string;

  constructor(roots: ReadonlyArray<string | Root>, what: string) {
    this.#roots = roots.map((r) => (typeof r === 'string' ? { dir: realish(r), access: 'write' } : { dir: realish(r.dir), access: r.access }));
    this.#what = what;
  }

  get roots(): readonly Root[] {
    return this.#roots;
  }

  /** An opaque id for `path` (a dialog's answer, a confirmed drop): only this host can swap it back. */
  grant(path: string, access: Access): string {
    const key = `${access}\0${resolve(path)}`;
    const known = this.#ids.get(key);
    if (known && this.#grants.has(known)) return known;
    // The tail is only for people and the renderer's name-based guesses; it is checked verbatim.
    const name = basename(path).replace(/[\u0000-\u001f\u007f]/g, '_').trim().slice(0, 200) || 'folder';
    const id = `grant:${randomBytes(16).toString('hex')}/${name}`;
    this.#grants.set(id, { path: resolve(path), access });
    this.#ids.set(key, id);
    if (this.#grants.size > MAX_GRANTS) {
      const oldest = this.#grants.keys().next().value as string;
      this.#grants.delete(oldest);
    }
    return id;
  }

  /** Grants several paths at once (a dialog's answer). */
  grantAll(paths: readonly string[], access: Access): string[] {
    return paths.map((p) => this.grant(p, access));
  }

  /** The recent projects this host just listed; project.open may then name exactly these folders. */
  listedRecent(dirs: readonly string[]): void {
    this.#recent = new Set(dirs.map(realish));
  }

  /** The path a field value stands for, or a bad-request naming the channel and field. */
  #resolveOne(channel: string, field: string, access: Access, v: string, projectDir: string | null): string {
    const shown = v.slice(0, 300);
    if (isGrantId(v)) {
      const g = this.#grants.get(v);
      if (!g) throw bad(channel, field, `"${shown}" is not a grant this host issued (grants come from this session's file dialogs and confirmed drops)`);
      if (access === 'write' && g.access !== 'write') {
        throw bad(channel, field, `"${shown}" was granted for reading only; this field writes: choose the folder or file with its own Browse… dialog`);
      }
      return g.path;
    }
    const real = realish(v);
    if (projectDir && inside(realish(projectDir), real)) return v;
    if (this.#roots.some((r) => (access === 'read' || r.access === 'write') && inside(r.dir, real))) return v;
    if (channel === 'project.open' && this.#recent.has(real)) return v;
    if (access === 'write' && this.#roots.some((r) => inside(r.dir, real))) {
      throw bad(channel, field, `"${shown}" is inside a read-only folder of this host (${this.#what})`);
    }
    throw bad(channel, field, `"${shown}" is outside the folders this host may use (${this.#what})`);
  }

  /**
   * The request with every path field checked and every grant id replaced by its path; throws a
   * bad-request naming the channel and field otherwise. Requests of other channels pass unchanged.
   */
  resolve<T>(channel: string, req: T, projectDir: string | null): T {
    if (!req || typeof req !== 'object') return req;
    const out: Record<string, unknown> = { ...(req as Record<string, unknown>) };
    for (const f of INLINE_SCHEMA_FIELDS[channel as CallName] ?? []) checkInlineSchema(channel, f, out[f]);
    const fields = PATH_FIELDS[channel as CallName];
    if (!fields) return out as T;
    for (const [f, access] of Object.entries(fields)) {
      const v = out[f];
      if (typeof v === 'string') out[f] = this.#resolveOne(channel, f, access, v, projectDir);
    }
    return out as T;
  }

  /** Throws a bad-request naming the channel and field when a path field is not allowed. */
  check(channel: string, req: unknown, projectDir: string | null): void {
    this.resolve(channel, req, projectDir);
  }
}

function bad(channel: string, field: string, what: string): ContractError {
  return new ContractError({ code: 'bad-request', message: `${channel}: ${field}: ${what}` });
}

/** An inline schema's mask sources may not name files (they would be read from anywhere). */
function checkInlineSchema(channel: string, field: string, schema: unknown): void {
  const structures = (schema as { structures?: unknown } | undefined)?.structures;
  if (!Array.isArray(structures)) return;
  structures.forEach((s, i) => {
    const file = (s as { source?: { file?: unknown } } | null)?.source?.file;
    if (file !== undefined && file !== null) {
      throw bad(channel, `${field}.structures[${i}].source.file`, 'an inline schema may not name files; give the mask as the label file, or import a schema file');
    }
  });
}

/**
 * Handlers that forward every call to `services` (the services process or worker), except those
 * given in `local`, which the host answers itself. Both sides validate against the schemas.
 */
export function forwardingHandlers(services: Invoker, local: Partial<Handlers<Contract>>): Handlers<Contract> {
  const forward = Object.fromEntries(callNames.map((name) => [name, async (req: unknown) => unwrap(await services.call(name, req))]));
  return { ...forward, ...local } as Handlers<Contract>;
}

/**
 * Paths are granted, not sent: the path channels' handlers run only on requests `guard` let
 * through, with grant ids swapped for their paths (see PathGuard.resolve).
 */
export function guardPaths(handlers: Handlers<Contract>, guard: PathGuard, projectDir: () => string | null): Handlers<Contract> {
  const out: Record<string, unknown> = { ...handlers };
  const names = new Set([...Object.keys(PATH_FIELDS), ...Object.keys(INLINE_SCHEMA_FIELDS)]);
  for (const name of names) {
    const h = (handlers as Record<string, (req: unknown, ctx: unknown) => unknown>)[name];
    out[name] = (req: unknown, ctx: unknown) => h(guard.resolve(name, req, projectDir()), ctx);
  }
  return out as Handlers<Contract>;
}
