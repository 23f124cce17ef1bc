/**
 * Window/level by dragging on a slice view (docs/ui.md): a right-drag, or Shift + left-drag,
 * changes the CT window, 4 HU of width per pixel to the right and 2 HU of level per pixel down (as
 * in most viewers). One home for the rule, used by the slice cursor layer and by the edit layer
 * above it while an editing tool is active (the left button paints there; these drags still
 * adjust the window).
 */
export interface WindowDrag {
  x: number;
  y: number;
  window: number;
  level: number;
}

/** Whether a pointer-down starts a window/level drag: the right button, or Shift with the left. */
export function isWindowDrag(e: { button: number; shiftKey: boolean }): boolean {
  return e.button === 2 || (e.button === 0 && e.shiftKey);
}

export function startWindowDrag(e: { clientX: number; clientY: number }, preset: { window: number; level: number }): WindowDrag {
  return { x: e.clientX, y: e.clientY, window: preset.window, level: preset.level };
}

/** The window and level after moving from the drag's start to (clientX, clientY). */
export function dragWindow(d: WindowDrag, e: { clientX: number; clientY: number }): { window: number; level: number } {
  return { window: Math.max(1, Math.round(d.window + 4 * (e.clientX - d.x))), level: Math.round(d.level + 2 * (e.clientY - d.y)) };
}
