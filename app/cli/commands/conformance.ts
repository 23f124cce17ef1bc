import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from '../command.ts';
import { badInput, usageError } from '../../util/errors.ts';
import { writeFileAtomic } from '../../util/atomic.ts';
import { backendChoices, initBackend, isBackendPreference } from '../../learning/backend.ts';
import { compareCase, parseOracleDoc, runCases } from '../../learning/conformance.ts';

/** CASES is cases.json or a folder holding it. */
function casesFile(path: string): string {
  if (!existsSync(path)) throw badInput(path, 'path', 'not found', 'not-found');
  return statSync(path).isDirectory() ? join(path, 'cases.json') : path;
}

/** One case per line, like the oracle's own files: diffable and still valid JSON. */
function renderActual(entries: Array<[string, unknown]>): string {
  return `{\n${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}\n}\n`;
}

export const command: Command = {
  name: 'conformance',
  summary: 'Run the loss/metric oracle cases with Osteon\'s losses and metrics; write the actual file.',
  usage: 'CASES.json OUT.json [--backend auto|tfjs-node-gpu|webgpu|tfjs-node|wasm+dnnl|wasm|cpu] [--json]',
  help: [
    'Evaluates every case of a ct-seg-oracle/1 file (test/fixtures/oracle/README.md, with',
    'oracle.py beside it) on the active tfjs backend: bce_with_logits,',
    'cross_entropy, soft_dice and joint_head_loss with app/learning, seg_metrics and pos_weight',
    'with app/metrics. Writes OUT.json ({case id: {output: value}}, non-finite numbers as the',
    'strings "NaN"/"Infinity"), atomically, then checks it with `oracle.py check --cases CASES',
    '--actual OUT.json`. CASES may be a folder holding cases.json. When the expected values are',
    'inline (not --split-expected) they are also compared here with the oracle\'s rule',
    '(|a-e| <= 1e-5 + 1e-4·|e|); expected.json is never read.',
    '',
    'Exit 0 when every case ran (and passed, when expected values were inline), 1 otherwise.',
    'Example: osteon conformance test/fixtures/oracle/cases-example actual.json',
  ].join('\n'),
  options: {
    backend: { type: 'string' },
    json: { type: 'boolean' },
  },
  optionHelp: {
    backend: 'auto|tfjs-node-gpu|tfjs-node|wasm+dnnl|wasm|cpu: the tfjs backend to evaluate on (default auto)',
    json: 'print the summary as JSON',
  },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    if (positionals.length !== 2) throw usageError('conformance needs CASES.json and OUT.json');
    const pref = typeof values.backend === 'string' ? values.backend : 'auto';
    if (!isBackendPreference(pref)) throw usageError(`--backend ${pref}: expected one of ${backendChoices.join(', ')}`);
    const file = casesFile(positionals[0]);
    if (!existsSync(file)) throw badInput(file, 'path', 'not found', 'not-found');
    const doc = parseOracleDoc(readFileSync(file, 'utf8'), file);
    const backend = await initBackend({ prefer: pref });

    const { results, summary } = runCases(doc);
    const runner = { backend: backend.name, package: backend.package, cases: summary.cases, errors: summary.errors, leakedTensors: summary.leakedTensors };
    // '_runner' is ignored by `oracle.py check` (ids starting with '_').
    writeFileAtomic(positionals[1], renderActual([['_runner', runner], ...Object.entries(results)]));

    const inline = doc.cases.every((c) => c.expected !== undefined);
    const failures = inline ? doc.cases.filter((c) => compareCase(c.expected ?? {}, results[c.id]).length > 0).map((c) => c.id) : [];
    const errorIds = Object.entries(results).filter(([, r]) => 'error' in r).map(([id, r]) => `${id}: ${String((r as { error: string }).error)}`);
    const ok = summary.errors === 0 && failures.length === 0 && summary.leakedTensors === 0;
    if (values.json) {
      io.out(JSON.stringify({ ok, value: { ...runner, out: positionals[1], byKind: summary.byKind, expectedInline: inline, failed: inline ? failures : null, errorCases: errorIds } }, null, 2));
    } else {
      const kinds = Object.entries(summary.byKind).map(([k, v]) => `${k} ${v.cases}${v.errors ? ` (${v.errors} errors)` : ''}`).join(', ');
      io.out(`conformance: ${summary.cases} cases (${kinds}) on backend ${backend.name}`);
      for (const e of errorIds) io.out(`  error ${e}`);
      if (summary.leakedTensors !== 0) io.out(`  tensor count grew by ${summary.leakedTensors}`);
      io.out(inline
        ? `compared with inline expected values: ${summary.cases - failures.length} passed, ${failures.length} failed${failures.length ? ` (${failures.join(', ')})` : ''}`
        : 'expected values are not inline: check with oracle.py check');
      io.out(`wrote ${positionals[1]}`);
    }
    return ok ? 0 : 1;
  },
};
