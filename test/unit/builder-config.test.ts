// electron-builder.yml, loaded and validated by electron-builder's own code (getConfig and
// validateConfiguration: its scheme.json through ajv), plus the project's packaging promises:
// the targets, icons that exist, native modules unpacked, no auto-update, a file association.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js';
import { repoRoot } from '../helpers/env.ts';

type Logger = Parameters<typeof validateConfiguration>[1];
const quietLogger = { isEnabled: false, add: () => undefined } as unknown as Logger;

const load = () => getConfig(repoRoot, join(repoRoot, 'electron-builder.yml'), null);

describe('electron-builder.yml', () => {
  it('passes electron-builder\'s configuration schema', async () => {
    const config = await load();
    await expect(validateConfiguration(config, quietLogger)).resolves.toBeUndefined();
  });

  it('the schema check bites on a misspelt option', async () => {
    const config = await load();
    await expect(validateConfiguration({ ...config, linux: { ...config.linux, widht: 1 } as never }, quietLogger))
      .rejects.toThrow(/does not match the API schema/);
  });

  it('builds the promised targets with icons that exist', async () => {
    const c = await load();
    expect(c.appId).toBe('org.osteon.workstation');
    expect(c.productName).toBe('Osteon');
    expect(c.linux?.target).toEqual(['AppImage', 'deb']);
    expect(c.win?.target).toEqual(['nsis']);
    expect(c.mac?.target).toEqual(['dmg']);
    for (const icon of [c.linux?.icon, c.win?.icon, c.mac?.icon]) {
      expect(typeof icon).toBe('string');
      expect(existsSync(join(repoRoot, icon as string)), String(icon)).toBe(true);
    }
  });

  it('packs into asar with native modules unpacked, makes no update calls, associates project files', async () => {
    const c = await load();
    expect(c.asar).toBe(true);
    expect(c.asarUnpack).toEqual(expect.arrayContaining(['**/*.node', '**/node_modules/@tensorflow/tfjs-node-gpu/**']));
    expect(c.publish).toBeNull();
    expect(c.npmRebuild).toBe(false);
    const assoc = Array.isArray(c.fileAssociations) ? c.fileAssociations : [c.fileAssociations];
    expect(assoc[0]).toMatchObject({ ext: 'osteon', name: 'Osteon project' });
    expect(existsSync(join(repoRoot, 'resources', `${assoc[0]?.icon}.icns`))).toBe(true);
    expect(existsSync(join(repoRoot, 'resources', `${assoc[0]?.icon}.ico`))).toBe(true);
  });
});
