#!/usr/bin/env node
// `denoise`: the Node runtime's command line (the command itself lives in denoise-cli.ts).
import { removePendingTempFiles } from './atomic-file.js';
import { mayBeManyFiles, plainInputs, startThreadEarly } from './early-thread.js';
import { settleThreads, SIGNAL_ECHO_MS } from './thread-settle.js';

// A run that may be a folder of small files starts its model's thread first, before the command line's modules load
// (yargs alone takes 100 ms or more): the thread loads onnxruntime meanwhile. One not used costs CPU time only.
if (mayBeManyFiles(plainInputs(process.argv.slice(2)))) startThreadEarly();
const { hideBin } = await import('yargs/helpers');
const { main } = await import('./denoise-cli.js');

// Ctrl-C or kill: outputs stay complete or absent, and the temp files of writes in flight go too. The model's threads
// finish the run they are in first (a thread ended inside onnxruntime aborts the process); a second signal does not
// wait, unless it is the first one relayed by a wrapper (npx).
let exiting: number | undefined;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.on(signal, () => {
    removePendingTempFiles();
    if (exiting !== undefined && performance.now() - exiting < SIGNAL_ECHO_MS) return;
    if (exiting !== undefined) process.exit(code);
    exiting = performance.now();
    void settleThreads().finally(() => {
      // Writes that started meanwhile leave temp files too.
      removePendingTempFiles();
      process.exit(code);
    });
  });
}

process.exitCode = await main(hideBin(process.argv));
