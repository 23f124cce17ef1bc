/**
 * Errors cross every boundary as data: `{ ok: false, error: { code, message, detail? } }`.
 * Electron's `ipcMain.handle` forwards only an Error's message, and a WebSocket forwards only
 * JSON, so nothing is thrown across; the client re-throws a typed `ContractError` locally.
 */
import { z } from 'zod';

/**
 * Every code a call can fail with. The first group mirrors app/util/errors.ts (the core's
 * codes); the second is the transport's own.
 */
export const errorCodes = [
  'usage', 'bad-input', 'unsupported', 'mismatch', 'not-found',
  'internal', 'cancelled', 'io', 'numeric', 'backend',
  'bad-request', 'unavailable', 'no-project', 'forbidden', 'transport',
] as const;

export const ErrorCode = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorData = z.strictObject({
  code: ErrorCode,
  message: z.string().max(8192),
  detail: z.string().max(65536).optional(),
  file: z.string().max(4096).optional(),
  field: z.string().max(1024).optional(),
});
export type ErrorData = z.infer<typeof ErrorData>;

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorData };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: ErrorCode, message: string, detail?: string): { ok: false; error: ErrorData } {
  return { ok: false, error: detail === undefined ? { code, message } : { code, message, detail } };
}

/** The error a client throws when a call comes back `{ ok: false }`. */
export class ContractError extends Error {
  readonly code: ErrorCode;
  readonly detail?: string;
  readonly file?: string;
  readonly field?: string;

  constructor(data: ErrorData) {
    super(data.message);
    this.name = 'ContractError';
    this.code = data.code;
    this.detail = data.detail;
    this.file = data.file;
    this.field = data.field;
  }

  toData(): ErrorData {
    const d: ErrorData = { code: this.code, message: this.message };
    if (this.detail !== undefined) d.detail = this.detail;
    if (this.file !== undefined) d.file = this.file;
    if (this.field !== undefined) d.field = this.field;
    return d;
  }
}

/** Unwraps a result: the value, or a thrown `ContractError`. */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new ContractError(r.error);
}

/**
 * Any thrown value as error data. Objects that already carry a known `code` (OsteonError,
 * ContractError) keep it, so the core's "bad-input: labels.nii.gz: dim[3]…" survives the trip.
 */
export function errorDataOf(e: unknown): ErrorData {
  if (e instanceof ContractError) return e.toData();
  if (typeof e === 'object' && e !== null) {
    const o = e as { code?: unknown; message?: unknown; detail?: unknown; file?: unknown; field?: unknown };
    const code = ErrorCode.safeParse(o.code);
    const message = typeof o.message === 'string' ? o.message : String(e);
    const d: ErrorData = { code: code.success ? code.data : 'internal', message: message.slice(0, 8192) };
    if (typeof o.detail === 'string') d.detail = o.detail.slice(0, 65536);
    if (typeof o.file === 'string') d.file = o.file.slice(0, 4096);
    if (typeof o.field === 'string') d.field = o.field.slice(0, 1024);
    return d;
  }
  return { code: 'internal', message: String(e).slice(0, 8192) };
}

/** A zod error as one line per issue: `path.to.field: message`. */
export function describeIssues(error: z.ZodError, max = 8): string {
  // Bounded: a request may carry megabyte keys, and the message must not echo them back.
  const cut = (t: string, n: number) => (t.length > n ? `${t.slice(0, n)}…` : t);
  const lines = error.issues.slice(0, max).map((i) => `${i.path.length ? cut(i.path.map(String).join('.'), 120) : '(root)'}: ${cut(i.message, 300)}`);
  if (error.issues.length > max) lines.push(`… and ${error.issues.length - max} more`);
  return lines.join('; ');
}
