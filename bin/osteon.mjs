#!/usr/bin/env node
// The `osteon` command: plain Node running the TypeScript core through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../app/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
