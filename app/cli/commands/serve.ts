import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from '../command.ts';
import { startBrowserHost } from '../../services/browser-host.ts';
import { osteonHome } from '../../store/recent.ts';
import { runJob } from '../../contract/client.ts';
import { ContractError } from '../../contract/result.ts';
import { OsteonError, usageError, type ErrorCode } from '../../util/errors.ts';

const cliCodes: readonly string[] = ['usage', 'bad-input', 'unsupported', 'mismatch', 'not-found', 'internal', 'cancelled', 'io', 'numeric', 'backend'];

/** A contract error as the CLI's own (so bad input exits 2 with the message, not a stack). */
function asCliError(e: unknown): unknown {
  if (!(e instanceof ContractError)) return e;
  const code = (cliCodes.includes(e.code) ? e.code : e.code === 'bad-request' ? 'usage' : 'internal') as ErrorCode;
  return new OsteonError({ code, message: e.message, file: e.file, field: e.field, detail: e.detail });
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const sampleStudy = {
  ct: join(repoRoot, 'resources', 'sample', 'pelvis', 'ct.nii.gz'),
  labels: join(repoRoot, 'resources', 'sample', 'pelvis', 'labels.nii.gz'),
  schema: join(repoRoot, 'resources', 'presets', 'pelvis.json'),
};

export const command: Command = {
  name: 'serve',
  summary: 'Serve the workstation to a browser on this machine (127.0.0.1, token-protected).',
  usage: '[--port N] [--project DIR [--read-only]] [--sample] [--root DIR]... [--renderer DIR] [--json]',
  help: [
    'Runs Osteon\'s services in plain Node and serves the built renderer on 127.0.0.1 only, with a',
    'random token in the URL; the page talks to the services over a WebSocket. Requests without the',
    'token, or from another origin, are refused. Stop it with Ctrl-C.',
    '',
    'Example: osteon serve --project ~/osteon/demo --sample',
  ].join('\n'),
  options: {
    port: { type: 'string' },
    project: { type: 'string' },
    'read-only': { type: 'boolean' },
    sample: { type: 'boolean' },
    renderer: { type: 'string' },
    json: { type: 'boolean' },
    root: { type: 'string', multiple: true },
  },
  optionHelp: {
    port: 'N: port to listen on (default: a free one)',
    project: 'DIR: open this project; a missing or empty folder becomes a new project',
    'read-only': 'open --project DIR read-only: reviewers can look, nothing is written into the folder (it must be a project already)',
    sample: 'import the bundled sample study (pelvis CT + labels) when the project has no cases',
    renderer: 'DIR: the built renderer to serve (default out/renderer; build it with `npm run build`)',
    root: 'DIR: a folder the page may import from, export to or open projects in (repeatable); the project folder is one too, the bundled sample and presets are readable, nothing else is',
    json: 'print {url, port, token, project} as one JSON line instead of text',
  },
  allowPositionals: false,
  async run({ values, io }) {
    let port = 0;
    if (typeof values.port === 'string') {
      port = Number(values.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port ${values.port}: expected an integer 0..65535`);
    }
    if (values.sample && typeof values.project !== 'string') throw usageError('--sample needs --project DIR');
    const readOnly = values['read-only'] === true;
    if (readOnly && typeof values.project !== 'string') throw usageError('--read-only needs --project DIR');
    if (readOnly && values.sample) throw usageError('--read-only cannot be used with --sample (importing the sample writes into the project)');
    const rendererDir = typeof values.renderer === 'string' ? resolve(values.renderer) : join(repoRoot, 'out', 'renderer');
    if (!existsSync(join(rendererDir, 'index.html'))) {
      io.err(`osteon serve: warning: ${join(rendererDir, 'index.html')} is missing; run \`npm run build\` (the page answers 503 until then).`);
    }
    // Paths are granted, not sent: the page may name only the project folder and every --root
    // (the host adds the bundled sample and presets, read only, and the open project).
    const extra = Array.isArray(values.root) ? values.root.map((r) => resolve(String(r))) : [];
    const roots = [...(typeof values.project === 'string' ? [resolve(values.project)] : []), ...extra];
    const host = await startBrowserHost({ port, rendererDir, home: osteonHome(), roots });
    const client = host.client;
    let project = null;
    try {
      if (typeof values.project === 'string') {
        const dir = resolve(values.project);
        if (readOnly && !existsSync(join(dir, 'project.json'))) throw usageError(`--read-only: ${dir} is not an Osteon project (no project.json); a read-only open creates nothing`);
        project = existsSync(join(dir, 'project.json'))
          ? await client.call('project.open', { dir, ...(readOnly ? { readOnly } : {}) })
          : await client.call('project.create', { dir, name: basename(dir) || 'project' });
        if (values.sample && project.caseCount === 0) {
          io.err('osteon serve: importing the sample study…');
          await runJob(client, 'case.import', () => client.call('case.import', { ...sampleStudy, name: 'pelvis-sample' }));
          project = (await client.call('project.get')).project;
        }
      }
    } catch (e) {
      await host.close();
      throw asCliError(e);
    }
    if (values.json) io.out(JSON.stringify({ url: host.url, port: host.port, token: host.token, project }));
    else {
      // With --sample the page opens on the project's first case (the sample), every view filled.
      const first = values.sample ? (await client.call('case.list')).cases[0]?.id : undefined;
      io.out(`Osteon browser host: ${host.url}${first ? `&case=${encodeURIComponent(first)}` : ''}`);
      if (project) io.out(`project: ${project.name} (${project.dir}), ${project.caseCount} case(s)${project.readOnly ? ', read-only' : ''}`);
      io.out('Open the URL in a browser on this machine. Ctrl-C stops the host.');
    }
    await new Promise<void>((done) => {
      const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
      let watch: ReturnType<typeof setInterval> | undefined;
      const stop = () => {
        for (const sig of signals) process.off(sig, stop);
        if (watch) clearInterval(watch);
        io.err('osteon serve: stopping');
        void host.close().then(done);
      };
      for (const sig of signals) process.on(sig, stop);
      // Started by `npm start` (scripts/start.mjs): stop with it, even when it was killed outright
      // and could not pass a signal on (we are then re-parented), so no host is left behind.
      if (process.env.OSTEON_EXIT_WITH_PARENT === '1') {
        const parent = process.ppid;
        watch = setInterval(() => { if (process.ppid !== parent) stop(); }, 500);
      }
    });
    return 0;
  },
};
