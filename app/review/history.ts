/**
 * Bounded undo/redo of edit steps. A new step clears the redo stack; past `limit` steps the oldest
 * is dropped (its change stays in the masks, it just cannot be undone any more). Steps are stored
 * as the changed voxels only (./edit.ts ChannelChange), so a hundred strokes cost kilobytes.
 */
import { invertStep, type EditStep } from './edit.ts';

export const DEFAULT_UNDO_LIMIT = 100;

export class EditHistory {
  readonly limit: number;
  #done: EditStep[] = [];
  #undone: EditStep[] = [];

  constructor(limit = DEFAULT_UNDO_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`undo limit ${limit} must be a positive integer`);
    this.limit = limit;
  }

  get undoCount(): number {
    return this.#done.length;
  }

  get redoCount(): number {
    return this.#undone.length;
  }

  /** Records a step that was just applied; empty steps are not recorded. */
  push(step: EditStep): void {
    if (step.length === 0) return;
    this.#done.push(step);
    if (this.#done.length > this.limit) this.#done.shift();
    this.#undone = [];
  }

  /** The step to apply to undo the last one, or null when there is none. */
  undo(): EditStep | null {
    const s = this.#done.pop();
    if (!s) return null;
    this.#undone.push(s);
    return invertStep(s);
  }

  /** The step to apply to redo the last undone one, or null. */
  redo(): EditStep | null {
    const s = this.#undone.pop();
    if (!s) return null;
    this.#done.push(s);
    return s;
  }
}
