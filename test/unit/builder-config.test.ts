// electron-builder.yml, loaded and validated by electron-builder's own code (getConfig and
// validateConfiguration: its scheme.json through ajv), plus the project's packaging promises:
// the targets, icons that exist, native modules unpacked, no auto-update, a file association.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// Fuses: electron-builder's own generateFuseConfig turns electronFuses into @electron/fuses'
// options, and @electron/fuses flips them in a synthetic binary holding Electron's fuse sentinel
// and wire (version 1, Electron's defaults "11101001"): the packaged app gets exactly these fuses.
describe('Electron fuses at packaging time', () => {
  it('electronFuses turns off RunAsNode, NODE_OPTIONS and --inspect; on ASAR integrity, ASAR-only and cookie encryption', async () => {
    const { FuseV1Options, getCurrentFuseWire, flipFuses } = await import('@electron/fuses');
    const { SENTINEL, FuseState } = await import('@electron/fuses/dist/constants.js') as { SENTINEL: string; FuseState: { ENABLE: number } };
    // Through the package's entry point (platformPackager.js alone hits an import cycle).
    const { PlatformPackager } = await import('app-builder-lib');
    const c = await load();
    expect(c.electronFuses).toEqual({
      runAsNode: false, enableNodeOptionsEnvironmentVariable: false, enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true, onlyLoadAppFromAsar: true, enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false,
    });
    const generate = (PlatformPackager.prototype as unknown as { generateFuseConfig(f: unknown): Promise<Parameters<typeof flipFuses>[1]> }).generateFuseConfig;
    const config = await generate.call({}, c.electronFuses);
    const dir = mkdtempSync(join(tmpdir(), 'osteon-fuses-'));
    try {
      const bin = join(dir, 'osteon');
      const wire = '11101001';
      writeFileSync(bin, Buffer.concat([Buffer.alloc(4096, 0x90), Buffer.from(SENTINEL, 'latin1'), Buffer.from([1, wire.length]), Buffer.from(wire, 'latin1'), Buffer.alloc(64)]));
      await flipFuses(bin, config);
      const now = await getCurrentFuseWire(bin);
      const on = (o: number) => now[o as keyof typeof now] === FuseState.ENABLE;
      expect(on(FuseV1Options.RunAsNode)).toBe(false);
      expect(on(FuseV1Options.EnableNodeOptionsEnvironmentVariable)).toBe(false);
      expect(on(FuseV1Options.EnableNodeCliInspectArguments)).toBe(false);
      expect(on(FuseV1Options.EnableEmbeddedAsarIntegrityValidation)).toBe(true);
      expect(on(FuseV1Options.OnlyLoadAppFromAsar)).toBe(true);
      expect(on(FuseV1Options.EnableCookieEncryption)).toBe(true);
      expect(on(FuseV1Options.GrantFileProtocolExtraPrivileges)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pins a supported Electron major (45, the newest; the three newest majors get fixes)', async () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const installed = JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'electron', 'package.json'), 'utf8')) as { version: string };
    expect(pkg.devDependencies.electron).toBe('45.6.1');
    expect(installed.version).toBe('45.6.1');
  });
});
