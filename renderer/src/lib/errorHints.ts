/**
 * What the user can do about an error, by its code. Every error the UI shows carries its code
 * (so a bug report can quote it) and one of these hints.
 */
export interface ShownError {
  code: string;
  message: string;
  file?: string;
  field?: string;
  detail?: string;
}

const hints: Record<string, string> = {
  'usage': 'Check the values you entered; the message names the one at fault.',
  'bad-input': 'The file named in the message is not what Osteon expects. Fix or replace it and import again.',
  'unsupported': 'This format or option is not supported. Convert the file (e.g. to NIfTI) and try again.',
  'mismatch': 'The CT and the label map do not share one grid. Pick the label file that belongs to this CT.',
  'not-found': 'The file or item no longer exists. Check the path, or refresh the list.',
  'cancelled': 'The job was cancelled; nothing was changed. Start it again when you are ready.',
  'io': 'Osteon could not read or write a file. Check free disk space and permissions, then retry.',
  'numeric': 'The computation produced invalid numbers. Check the input intensities and labels.',
  'backend': 'The compute backend failed. Try again; if it repeats, switch backend in the settings.',
  'internal': 'This is a bug in Osteon. Please report it with the code and the message.',
  'disconnected': 'The connection to the Osteon host was lost. Reload the page; if that fails, restart `osteon serve`.',
  'transport': 'The connection to the Osteon host was lost. Reload the page; if that fails, restart `osteon serve`.',
  'no-project': 'Open or create a project first (Ctrl+O).',
  'unavailable': 'This host cannot do that (a browser has no native file dialog, for example). Type the path instead.',
  'bad-request': 'The app sent a request the host does not accept. This is a bug: please report it with the message.',
  'forbidden': 'This page has no valid access token. Open the exact URL that `osteon serve` printed.',
};

export function hintFor(code: string): string {
  return hints[code] ?? hints['internal'];
}

/** Any thrown value as something the UI can show. */
export function toShownError(e: unknown): ShownError {
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) {
    const o = e as { code: unknown; message: unknown; file?: unknown; field?: unknown; detail?: unknown };
    return {
      code: String(o.code),
      message: String(o.message),
      file: typeof o.file === 'string' ? o.file : undefined,
      field: typeof o.field === 'string' ? o.field : undefined,
      detail: typeof o.detail === 'string' ? o.detail : undefined,
    };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message };
  return { code: 'internal', message: String(e) };
}
