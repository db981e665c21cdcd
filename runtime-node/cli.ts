#!/usr/bin/env node
// `denoise`: the Node runtime's command line (the command itself lives in denoise-cli.ts).
import { hideBin } from 'yargs/helpers';
import { removePendingTempFiles } from './atomic-file.js';
import { main } from './denoise-cli.js';

// Ctrl-C or kill: outputs stay complete or absent, and the temp files of writes in flight go too.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    removePendingTempFiles();
    process.exit(code);
  });
}

process.exitCode = await main(hideBin(process.argv));
