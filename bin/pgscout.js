#!/usr/bin/env node
import { reexecWithDaemonSettings } from '../dist/util/daemon-exec.js';

const args = process.argv.slice(2);
if (args[0] === 'collect') reexecWithDaemonSettings(process.argv[1], args);
const { main } = await import('../dist/cli/main.js');

main(args).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`pgscout: ${err?.message ?? err}`); process.exitCode = 1; },
);
