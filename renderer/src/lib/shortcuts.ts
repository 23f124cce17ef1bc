/**
 * The workstation's keyboard shortcuts, as data: the key handler and the help overlay both read
 * this table, so the overlay can never list a shortcut that does not exist.
 */
export type ShortcutId =
  | 'openProject'
  | 'importStudy'
  | 'toggleJobs'
  | 'help'
  | 'nextCase'
  | 'previousCase'
  | 'maximiseViewport'
  | 'restoreViewports'
  | 'sliceUp'
  | 'sliceDown'
  | 'nextStructure'
  | 'acceptStructure'
  | 'rejectStructure'
  | 'brushTool'
  | 'eraserTool'
  | 'undoEdit'
  | 'redoEdit';

export interface Shortcut {
  id: ShortcutId;
  /** What the help overlay shows, e.g. "Ctrl+O". */
  keys: string;
  description: string;
  /** Ctrl (or ⌘ on macOS) must be held. */
  ctrl: boolean;
  /** `KeyboardEvent.key` values that trigger it (case-insensitive for letters). */
  key: readonly string[];
  /** Single-key shortcuts stay quiet while the user types in a field. */
  allowInFields: boolean;
}

export const shortcuts: readonly Shortcut[] = [
  { id: 'openProject', keys: 'Ctrl+O', description: 'Open or create a project', ctrl: true, key: ['o'], allowInFields: true },
  { id: 'importStudy', keys: 'Ctrl+I', description: 'Import a study (CT + labels)', ctrl: true, key: ['i'], allowInFields: true },
  { id: 'toggleJobs', keys: 'J', description: 'Show or hide the jobs drawer', ctrl: false, key: ['j'], allowInFields: false },
  { id: 'help', keys: '?', description: 'Show this list of shortcuts', ctrl: false, key: ['?'], allowInFields: false },
  { id: 'nextCase', keys: 'N', description: 'Next case', ctrl: false, key: ['n'], allowInFields: false },
  { id: 'previousCase', keys: 'P', description: 'Previous case', ctrl: false, key: ['p'], allowInFields: false },
  { id: 'maximiseViewport', keys: '1 – 4', description: 'Maximise axial / coronal / sagittal / 3D viewport', ctrl: false, key: ['1', '2', '3', '4'], allowInFields: false },
  { id: 'restoreViewports', keys: '0', description: 'Back to the 2×2 viewport grid', ctrl: false, key: ['0'], allowInFields: false },
  { id: 'sliceUp', keys: '↑ / PgUp', description: 'Next slice in the focused viewport', ctrl: false, key: ['ArrowUp', 'PageUp'], allowInFields: false },
  { id: 'sliceDown', keys: '↓ / PgDn', description: 'Previous slice in the focused viewport', ctrl: false, key: ['ArrowDown', 'PageDown'], allowInFields: false },
  // Review (renderer/src/review).
  { id: 'nextStructure', keys: 'S', description: 'Review: next structure', ctrl: false, key: ['s'], allowInFields: false },
  { id: 'acceptStructure', keys: 'A', description: 'Review: accept the structure', ctrl: false, key: ['a'], allowInFields: false },
  { id: 'rejectStructure', keys: 'R', description: 'Review: reject the structure', ctrl: false, key: ['r'], allowInFields: false },
  { id: 'brushTool', keys: 'B', description: 'Edit: brush', ctrl: false, key: ['b'], allowInFields: false },
  { id: 'eraserTool', keys: 'E', description: 'Edit: eraser', ctrl: false, key: ['e'], allowInFields: false },
  { id: 'undoEdit', keys: 'Ctrl+Z', description: 'Edit: undo the last stroke', ctrl: true, key: ['z'], allowInFields: false },
  { id: 'redoEdit', keys: 'Ctrl+Y', description: 'Edit: redo', ctrl: true, key: ['y'], allowInFields: false },
];

/** Keys a focused slice viewport handles itself (Viewport.svelte), for the help overlay. */
export const viewportKeys: readonly { keys: string; description: string }[] = [
  { keys: '+ / −', description: 'Zoom the focused slice view in / out' },
  { keys: 'Z', description: 'Reset zoom and pan of the focused slice view' },
  { keys: 'Enter', description: 'Maximise or restore the focused viewport' },
];

/** Mouse and trackpad bindings of the viewports, for the help overlay. */
export const mouseBindings: readonly { keys: string; description: string }[] = [
  { keys: 'Wheel', description: 'Slice view: next / previous slice' },
  { keys: 'Ctrl+Wheel, pinch', description: 'Slice view: zoom about the pointer' },
  { keys: 'Middle drag', description: 'Slice view: pan' },
  { keys: 'Right drag, Shift+drag', description: 'Slice view: window (left/right) and level (up/down)' },
  { keys: 'Click', description: 'Slice view: move the linked cursor there (all views follow)' },
  { keys: 'Double-click', description: 'Maximise or restore the viewport' },
  { keys: 'Left drag', description: '3D view: rotate' },
  { keys: 'Wheel, right drag (3D)', description: '3D view: zoom' },
  { keys: 'Shift+left drag, middle drag', description: '3D view: pan' },
];

/** Esc is not in the table: native modal dialogs close on it by themselves. */
export const escapeHint = { keys: 'Esc', description: 'Close the open dialog, then the jobs drawer, then a maximised viewport' };

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

/** The shortcut a key event triggers, or null. `inField`: focus is in a text input. */
export function matchShortcut(e: KeyLike, inField: boolean, table: readonly Shortcut[] = shortcuts): Shortcut | null {
  if (e.altKey) return null;
  const ctrl = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  for (const s of table) {
    if (s.ctrl !== ctrl) continue;
    if (inField && !s.allowInFields) continue;
    if (s.key.includes(key)) return s;
  }
  return null;
}
