import { toShownError, type ShownError } from '../lib/errorHints.ts';

export type ToastKind = 'info' | 'success' | 'error';

export interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
  error?: ShownError;
  /** How many identical messages arrived in a row (a sweep's jobs finishing one after another). */
  count: number;
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

  #push(t: Omit<Toast, 'id' | 'count'>): void {
    const id = this.#nextId++;
    const prev = this.#items.at(-1);
    // The same message again replaces the last toast with a count, instead of stacking copies.
    const count = prev && !t.error && !prev.error && prev.kind === t.kind && prev.text === t.text ? prev.count + 1 : 1;
    const kept = count > 1 ? this.#items.slice(0, -1) : this.#items;
    this.#items = [...kept.slice(-4), { ...t, id, count }];
    this.#last = t.error ? `${t.text}: [${t.error.code}] ${t.error.message}` : t.text;
    setTimeout(() => this.dismiss(id), t.kind === 'error' ? 20_000 : 4000);
  }
}
