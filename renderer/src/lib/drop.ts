/**
 * Files dropped on the window. Only the desktop app can use them: its preload reads the dropped
 * Files' paths (the page never sees them), main asks the user to confirm in its own dialog and
 * answers grant ids (app/services/path-guard.ts), which end in the file's name. A browser never
 * reveals paths, so there the user picks the files in the wizard (Browse…).
 */
import { ContractError, type OsteonBridge } from './contract.ts';

export interface DropPlan {
  ct: string;
  labels: string;
  schema: string;
}

/** Grant ids for the dropped files ([] when the user declined), or null outside the desktop app. */
export async function grantDropped(files: FileList | null): Promise<string[] | null> {
  const bridge = (globalThis as { osteon?: OsteonBridge }).osteon;
  if (!bridge || !files) return null;
  const r = await bridge.dropped([...files]);
  if (!r.ok) throw new ContractError(r.error);
  return (r.value as { paths: string[] }).paths;
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
