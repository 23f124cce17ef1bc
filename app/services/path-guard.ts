/**
 * Paths are granted, not sent. A request's path fields (PATH_FIELDS) are accepted only inside
 * what the host allows: the roots given on the command line (browser host; default the project
 * folder and the sample), paths a main-process dialog returned (Electron grants), and the open
 * project. Anything else is a `bad-request` naming the channel and the field, before a handler
 * touches the disk. Real paths are compared (a symlink cannot lead out); a path that does not
 * exist yet (a new project or export folder) is judged by its nearest existing ancestor.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { CallName } from '../contract/contract.ts';
import { ContractError } from '../contract/result.ts';
import { inside } from '../imaging/files.ts';

/** Every request field that carries a file-system path, per channel. */
export const PATH_FIELDS: Partial<Record<CallName, readonly string[]>> = {
  'project.create': ['dir'],
  'project.open': ['dir'],
  'case.import': ['ct', 'labels', 'schema'],
  'case.export': ['dir'],
  'case.attachPrediction': ['labels'],
  'labels.scan': ['labels'],
  'labels.preview': ['ct', 'labels'],
  'files.list': ['dir'],
};

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

export class PathGuard {
  readonly #roots: string[];
  readonly #grants = new Set<string>();
  /** Where the rule comes from, for messages ("roots given on the command line", "dialog grants"). */
  readonly #what: string;

  constructor(roots: readonly string[], what: string) {
    this.#roots = roots.map(realish);
    this.#what = what;
  }

  get roots(): readonly string[] {
    return this.#roots;
  }

  /** Grants exactly these paths (and, for folders, what is inside them): a dialog's answer. */
  grant(paths: readonly string[]): void {
    for (const p of paths) this.#grants.add(realish(p));
  }

  allowed(path: string, projectDir: string | null): boolean {
    const real = realish(path);
    const bases = [...this.#roots, ...this.#grants, ...(projectDir ? [realish(projectDir)] : [])];
    return bases.some((b) => inside(b, real));
  }

  /** Throws a bad-request naming the channel and field when a path field is not allowed. */
  check(channel: string, req: unknown, projectDir: string | null): void {
    const fields = PATH_FIELDS[channel as CallName];
    if (!fields || !req || typeof req !== 'object') return;
    for (const f of fields) {
      const v = (req as Record<string, unknown>)[f];
      if (typeof v !== 'string') continue;
      if (!this.allowed(v, projectDir)) {
        throw new ContractError({ code: 'bad-request', message: `${channel}: ${f}: "${v.slice(0, 300)}" is outside the folders this host may use (${this.#what})` });
      }
    }
  }
}
