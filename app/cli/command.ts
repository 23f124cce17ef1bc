import type { ParseArgsConfig } from 'node:util';

/** What a subcommand prints to: plain text for people, or one JSON document with --json. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal: progress bars are drawn only then. */
  isTty: boolean;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export type ParsedValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/**
 * One `osteon` subcommand. Files in app/cli/commands/ export `command` of this type and are
 * found by the dispatcher, so adding a subcommand touches no shared list.
 */
export interface Command {
  name: string;
  summary: string;
  /** Usage line(s) after `osteon NAME`, e.g. "CT LABELS... [--schema FILE] [--json]". */
  usage: string;
  /** Longer help text: what it does, options, examples. */
  help: string;
  options: OptionSpec;
  /**
   * One line per option, "VALUE: what it does (default)", shown by `--help`; the value's
   * placeholder is the text before the first ': ' when it has no spaces. Every option has one
   * (test/unit/cli-help.test.ts checks).
   */
  optionHelp: Record<string, string>;
  allowPositionals: boolean;
  /** Returns the exit code: 0 success, 1 failure. Throw OsteonError for bad input (exit 2). */
  run(args: { values: ParsedValues; positionals: string[]; io: CliIo }): Promise<number>;
}
