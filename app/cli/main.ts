import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { CliIo, Command } from './command.ts';
import { OsteonError, isInputError, usageError } from '../util/errors.ts';

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), 'commands');

async function loadFile(f: string): Promise<Command | undefined> {
  const mod = (await import(pathToFileURL(join(commandsDir, f)).href)) as { command?: Command };
  return mod.command;
}

/** Every subcommand (for the help listing). A file is named after its command. */
export async function loadCommands(): Promise<Command[]> {
  const files = readdirSync(commandsDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort();
  const commands: Command[] = [];
  for (const f of files) {
    const c = await loadFile(f);
    if (c) commands.push(c);
  }
  return commands.sort((a, b) => a.name.localeCompare(b.name));
}

/** One subcommand by name, importing only its file (tfjs and friends load only when needed). */
async function loadCommand(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(join(commandsDir, `${name}.ts`))) return undefined;
  const c = await loadFile(`${name}.ts`);
  return c?.name === name ? c : undefined;
}

function topHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'osteon: train and review CT bone segmentation (whole bone + substructures), offline.',
    '',
    'Usage: osteon <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `osteon <command> --help` for a command\'s options.',
    'Exit codes: 0 success, 1 failure, 2 bad input or usage.',
  ].join('\n');
}

/** `--name VALUE  description` for every option, the placeholder taken from its description. */
export function optionLines(c: Command): string[] {
  const rows = Object.entries(c.options).map(([k, o]) => {
    const text = c.optionHelp[k] ?? '';
    const m = /^(\S+): (.*)$/.exec(text);
    const value = o.type === 'string' ? ` ${m ? m[1] : 'VALUE'}` : '';
    return [`--${k}${value}${o.short ? ` (-${o.short})` : ''}`, m && o.type === 'string' ? m[2] : text] as const;
  });
  rows.push(['--help (-h)', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length).filter((n) => n <= 28));
  return rows.map(([l, d]) => (l.length > width ? `  ${l}\n  ${''.padEnd(width)}  ${d}` : `  ${l.padEnd(width)}  ${d}`));
}

function commandHelp(c: Command): string {
  return [`Usage: osteon ${c.name} ${c.usage}`, '', c.summary, '', c.help, '', 'Options:', ...optionLines(c)].join('\n');
}

export const processIo: CliIo = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
  isTty: Boolean(process.stderr.isTTY),
};

/** Runs the CLI and returns the exit code: 0 ok, 1 failure, 2 bad input or usage. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(topHelp(await loadCommands()));
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.out('osteon 0.1.0');
    return 0;
  }
  const cmd = await loadCommand(name);
  if (!cmd) {
    io.err(`osteon: unknown command '${name}'.\n\n${topHelp(await loadCommands())}`);
    return 2;
  }
  return runCommand(cmd, rest, io);
}

/** Parses `rest` for one command and runs it; maps errors to exit codes (the gpu-bundle's entry uses it too). */
export async function runCommand(cmd: Command, rest: string[], io: CliIo = processIo): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        options: { ...cmd.options, help: { type: 'boolean', short: 'h' } },
        allowPositionals: cmd.allowPositionals,
        strict: true,
      });
    } catch (e) {
      throw usageError(`${(e as Error).message}\nRun \`osteon ${cmd.name} --help\`.`);
    }
    if (parsed.values.help) {
      io.out(commandHelp(cmd));
      return 0;
    }
    return await cmd.run({ values: parsed.values, positionals: parsed.positionals, io });
  } catch (e) {
    const json = rest.includes('--json');
    const data = e instanceof OsteonError ? e.toData() : { code: 'internal', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    if (json) io.out(JSON.stringify({ ok: false, error: data }, null, 2));
    io.err(`osteon ${cmd.name}: error: ${data.message}`);
    return isInputError(e) ? 2 : 1;
  }
}
