/**
 * The README works as written: every command of its ```sh blocks runs here, in order, with its
 * /tmp/osteon-demo folder moved to a fresh temporary folder and smaller training settings
 * (listed in `smaller`). Commands that cannot run inside the test suite are reported as skipped
 * with the reason (`notHere`); any other command a README edit adds is run as it stands.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/env.ts';

/** The logical command lines of the README's ```sh blocks (continuations joined, comments cut). */
export function readmeCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    const joined = m[1].replace(/\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const cmd = line.replace(/\s+#.*$/, '').trim();
      if (cmd && !cmd.startsWith('#')) out.push(cmd);
    }
  }
  return out;
}

const notHere: Array<[RegExp, string]> = [
  [/^node scripts\/setup\.mjs/, 'installs the dependencies and opens the workstation (.ci/run does the install)'],
  [/^npm test$/, 'it is the suite running this test'],
  [/^npm run dist$/, 'downloads Electron\'s packaging binaries'],
  [/^npm run bench/, 'minutes of timing; run it by hand'],
  [/^npm run build$/, 'a minute of build; the e2e tests build the renderer themselves'],
];

/** Smaller settings for the tests: the same commands, seconds instead of minutes. */
const smaller: Array<[RegExp, string]> = [
  [/(osteon phantom .*)$/, '$1 --size 32x32x16 --spacing 3'],
  [/--epochs 30/, '--epochs 1'],
  [/--steps 25/, '--steps 2'],
  [/--batch 8/, '--batch 2 --filters 4,8'],
];

const commands = readmeCommands(readFileSync(join(repoRoot, 'README.md'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'osteon-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function adapt(cmd: string): string {
  let c = cmd.replaceAll('/tmp/osteon-demo', work);
  for (const [re, to] of smaller) c = c.replace(re, to);
  return c;
}

/** A long-running server: started, its URL answered, then stopped as Ctrl-C does (SIGINT to its process group). */
async function runServer(cmd: string): Promise<{ out: string; status: number }> {
  const child = spawn('bash', ['-c', `exec ${cmd}`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(out);
      if (m && out.includes('case(s)')) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
  const res = await fetch(url, { redirect: 'manual' });
  // 'close': every process holding its pipes has gone, so the host's goodbye is in `out`.
  const closed = new Promise((r) => child.once('close', r));
  process.kill(-(child.pid as number), 'SIGINT');
  await closed;
  return { out, status: res.status };
}

describe('README commands, as written', () => {
  it('has the walkthrough commands', () => {
    expect(commands.filter((c) => c.startsWith('npx osteon ')).length).toBeGreaterThanOrEqual(8);
  });

  for (const cmd of commands) {
    const skip = notHere.find(([re]) => re.test(cmd));
    it.skipIf(skip !== undefined)(`${cmd}${skip ? ` (not run here: ${skip[1]})` : ''}`, async () => {
      const c = adapt(cmd);
      if (/osteon serve\b/.test(c)) {
        const r = await runServer(c);
        expect(r.out).toMatch(/project: project \(.*\), 1 case\(s\)/);
        // 503 until `npm run build` has made out/renderer; either way the host answers the token URL.
        expect([200, 302, 503]).toContain(r.status);
        expect(r.out).toContain('osteon serve: stopping');
        return;
      }
      const r = spawnSync('bash', ['-c', c], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
      expect(r.status, `${c}\n${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stderr).not.toMatch(/install our node backend|\n\s+at /);
      if (/osteon eval /.test(c)) expect(r.stdout).toMatch(/Skipped 5 case\(s\) with no prediction .*: case-000, case-002, case-003, case-004, case-005/);
    }, 300_000);
  }
});
