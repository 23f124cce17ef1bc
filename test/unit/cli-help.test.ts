// Every `osteon` option is described in its command's --help, and the tfjs banner stays quiet.
import { describe, expect, it } from 'vitest';
import { loadCommands, main } from '../../app/cli/main.ts';
import type { CliIo } from '../../app/cli/command.ts';
import { runCli } from '../helpers/cli.ts';

function capture(): CliIo & { text: () => string } {
  const out: string[] = [];
  return { out: (t) => out.push(t), err: (t) => out.push(t), isTty: false, text: () => out.join('\n') };
}

describe('osteon --help', async () => {
  const commands = await loadCommands();

  it.each(commands.map((c) => [c.name, c] as const))('%s: every option has a description, shown by --help', async (_name, c) => {
    for (const k of Object.keys(c.options)) expect(c.optionHelp[k]?.trim(), `--${k}`).toBeTruthy();
    expect(Object.keys(c.optionHelp).sort()).toEqual(Object.keys(c.options).sort());
    const io = capture();
    expect(await main([c.name, '--help'], io)).toBe(0);
    for (const k of Object.keys(c.options)) expect(io.text()).toMatch(new RegExp(`^  --${k}\\b.*\\S.*$`, 'm'));
  });

  it('eval --help describes --tau and --boundary-radius', async () => {
    const io = capture();
    await main(['eval', '--help'], io);
    expect(io.text()).toMatch(/--tau MM\s+NSD tolerance in millimetres \(default 2\)/);
    expect(io.text()).toMatch(/--boundary-radius MM\s+half-width of the band/);
  });

  it('a CLI start that loads tfjs prints no "install our node backend" banner', () => {
    const r = runCli(['doctor']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/install our node backend/);
  });
});
