// Entry of the gpu-bundle's single-file CLI (scripts/gpu-bundle.mjs bundles it with esbuild):
// only the commands a GPU machine with no package registry needs, statically imported.
import { runCommand } from '../../app/cli/main.ts';
import { command as doctor } from '../../app/cli/commands/doctor.ts';
import { command as gpuCheck } from '../../app/cli/commands/gpu-check.ts';

const commands = new Map([doctor, gpuCheck].map((c) => [c.name, c]));
const [name, ...rest] = process.argv.slice(2);
const cmd = commands.get(name ?? '');
if (!cmd) {
  process.stderr.write(`usage: osteon-gpu ${[...commands.keys()].join('|')} [options]\n`);
  process.exitCode = 2;
} else {
  process.exitCode = await runCommand(cmd, rest);
}
