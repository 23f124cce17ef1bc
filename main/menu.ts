/**
 * The application menu. File actions are sent to the renderer as `menu.action` events (it owns
 * the flow: dialog, then the call); Help → About is answered here with versions and the ML
 * backend in use.
 */
import { Menu, type MenuItemConstructorOptions } from 'electron';
import type { z } from 'zod';
import type { MenuAction } from '../app/contract/contract.ts';

type Action = z.infer<typeof MenuAction>;

export function buildMenu(opts: { send(action: Action): void; about(): void; isMac: boolean; dev: boolean }): Menu {
  const act = (label: string, action: Action, accelerator?: string): MenuItemConstructorOptions =>
    ({ label, accelerator, click: () => opts.send(action) });
  const template: MenuItemConstructorOptions[] = [
    ...(opts.isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        act('New Project…', 'project-new', 'CmdOrCtrl+N'),
        act('Open Project…', 'project-open', 'CmdOrCtrl+O'),
        { type: 'separator' },
        act('Import Case…', 'case-import', 'CmdOrCtrl+I'),
        act('Export Case…', 'case-export', 'CmdOrCtrl+E'),
        { type: 'separator' },
        opts.isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        ...(opts.dev ? [{ role: 'reload' as const }, { role: 'toggleDevTools' as const }, { type: 'separator' as const }] : []),
        { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { label: 'Help', submenu: [{ label: 'About Osteon', click: () => opts.about() }] },
  ];
  return Menu.buildFromTemplate(template);
}
