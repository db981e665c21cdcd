#!/usr/bin/env node
// The `denoise` bin: committed executable (npm and git keep its mode), running the compiled command line.
import '../dist/cli.js';
