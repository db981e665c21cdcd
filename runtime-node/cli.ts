#!/usr/bin/env node
// `denoise`: the Node runtime's command line (the command itself lives in denoise-cli.ts).
import { hideBin } from 'yargs/helpers';
import { main } from './denoise-cli.js';

process.exitCode = await main(hideBin(process.argv));
