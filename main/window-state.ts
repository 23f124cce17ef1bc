/**
 * The main window's bounds, restored at start and saved when it changes (atomically, in the
 * user-data folder). A saved position that is no longer on any display (a monitor was
 * unplugged) is dropped so the window never opens off-screen.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { BrowserWindow, Rectangle } from 'electron';
import { writeJsonAtomic } from '../app/util/atomic.ts';

const WindowState = z.strictObject({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().min(400).max(20000),
  height: z.number().int().min(300).max(20000),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof WindowState>;

const DEFAULT: WindowState = { width: 1440, height: 900, maximized: false };

/** Keeps x/y only when the window's top-left 100×100 corner lies on one of the work areas. */
export function fitToDisplays(s: WindowState, workAreas: Rectangle[]): WindowState {
  if (s.x === undefined || s.y === undefined) return s;
  const { x, y } = s;
  const visible = workAreas.some((a) => x >= a.x - 50 && y >= a.y - 50 && x + 100 <= a.x + a.width && y + 100 <= a.y + a.height);
  return visible ? s : { width: s.width, height: s.height, maximized: s.maximized };
}

export function loadWindowState(userData: string, workAreas: Rectangle[]): WindowState {
  try {
    const r = WindowState.safeParse(JSON.parse(readFileSync(join(userData, 'window-state.json'), 'utf8')));
    return r.success ? fitToDisplays(r.data, workAreas) : DEFAULT;
  } catch {
    return DEFAULT;
  }
}

/** Saves the bounds on move/resize (debounced) and on close. */
export function trackWindowState(win: BrowserWindow, userData: string): void {
  let timer: NodeJS.Timeout | undefined;
  const save = () => {
    if (win.isDestroyed()) return;
    const b = win.getNormalBounds();
    writeJsonAtomic(join(userData, 'window-state.json'), { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() });
  };
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(save, 500);
  };
  win.on('resize', later);
  win.on('move', later);
  win.on('close', () => { clearTimeout(timer); save(); });
}
