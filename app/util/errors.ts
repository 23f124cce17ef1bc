/**
 * Errors that cross a boundary (CLI exit codes, IPC `{ok:false, error}` payloads) carry a
 * machine-readable code and, for bad input, the file and the field at fault, so the message
 * can say "labels.nii.gz: dim[3]=0, expected >= 1".
 */

/** Codes that the CLI maps to exit 2 ("bad input or usage"); everything else exits 1. */
export type InputErrorCode =
  | 'usage'
  | 'bad-input'
  | 'unsupported'
  | 'mismatch'
  | 'not-found';

export type FailureCode = 'internal' | 'cancelled' | 'io' | 'numeric' | 'backend';

export type ErrorCode = InputErrorCode | FailureCode;

export interface ErrorData {
  code: ErrorCode;
  message: string;
  file?: string;
  field?: string;
  detail?: string;
}

export class OsteonError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly field?: string;
  readonly detail?: string;

  constructor(data: ErrorData, options?: { cause?: unknown }) {
    super(data.message, options);
    this.name = 'OsteonError';
    this.code = data.code;
    this.file = data.file;
    this.field = data.field;
    this.detail = data.detail;
  }

  toData(): ErrorData {
    return { code: this.code, message: this.message, file: this.file, field: this.field, detail: this.detail };
  }
}

const inputCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['usage', 'bad-input', 'unsupported', 'mismatch', 'not-found']);

export function isInputError(e: unknown): e is OsteonError {
  return e instanceof OsteonError && inputCodes.has(e.code);
}

/**
 * Bad input: the message starts with the file's path as given (absolute when the caller resolved
 * it, so the user can open it) and names the field.
 */
export function badInput(file: string, field: string, problem: string, code: InputErrorCode = 'bad-input'): OsteonError {
  return new OsteonError({ code, file, field, message: `${file}: ${field}: ${problem}` });
}

export function usageError(message: string): OsteonError {
  return new OsteonError({ code: 'usage', message });
}

export function toErrorData(e: unknown): ErrorData {
  if (e instanceof OsteonError) return e.toData();
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}
