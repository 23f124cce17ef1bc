/**
 * Files dropped on the window. Only Electron can turn a dropped File into a path (the preload's
 * `pathForFile`); a browser never reveals paths, so there the user types them in the wizard.
 */
import type { OsteonBridge } from './contract.ts';

export interface DropPlan {
  ct: string;
  labels: string;
  schema: string;
}

export function droppedPaths(files: FileList | null): string[] | null {
  const bridge = (globalThis as { osteon?: OsteonBridge }).osteon;
  if (!bridge || !files) return null;
  return [...files].map((f) => bridge.pathForFile(f)).filter((p) => p !== '');
}

/** Sorts dropped files into the wizard's fields by name: *.json = schema, seg/label/mask = labels, else CT. */
export function planDrop(paths: readonly string[]): DropPlan {
  const plan: DropPlan = { ct: '', labels: '', schema: '' };
  for (const p of paths) {
    const name = (p.split(/[\\/]/).pop() ?? p).toLowerCase();
    if (name.endsWith('.json')) plan.schema ||= p;
    else if (/(seg|label|mask)/.test(name)) plan.labels ||= p;
    else plan.ct ||= p;
  }
  return plan;
}
