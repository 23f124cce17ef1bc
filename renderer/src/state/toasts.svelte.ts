import { toShownError, type ShownError } from '../lib/errorHints.ts';

export type ToastKind = 'info' | 'success' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
  error?: ShownError;
}

/** Visible feedback for every action: a short-lived toast plus the status bar's last line. */
export class Toasts {
  #items = $state<Toast[]>([]);
  #last = $state('Ready');
  #nextId = 1;

  get items(): readonly Toast[] {
    return this.#items;
  }

  /** The latest message, for the status bar. */
  get last(): string {
    return this.#last;
  }

  info(text: string): void {
    this.#push({ kind: 'info', text });
  }

  success(text: string): void {
    this.#push({ kind: 'success', text });
  }

  /**
   * Errors stay longer (the code and the hint take time to read) and remain in the status bar
   * and, for jobs, in the jobs drawer after the toast goes.
   */
  error(context: string, e: unknown): void {
    const error = toShownError(e);
    this.#push({ kind: 'error', text: context, error });
  }

  dismiss(id: number): void {
    this.#items = this.#items.filter((t) => t.id !== id);
  }

  #push(t: Omit<Toast, 'id'>): void {
    const id = this.#nextId++;
    this.#items = [...this.#items.slice(-4), { ...t, id }];
    this.#last = t.error ? `${t.text}: [${t.error.code}] ${t.error.message}` : t.text;
    setTimeout(() => this.dismiss(id), t.kind === 'error' ? 20_000 : 4000);
  }
}
