#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// The `denoise` bin: committed executable (npm and git keep its mode), running the compiled command line as bundled by scripts/bundle-cli.mjs. The shebang (env -S, which npm's Windows shims honour too) asks glibc to back large allocations with transparent huge pages: onnxruntime's first run on a photo tile otherwise spends about 0.4 s in page faults (36,800 for a 576x576 tile, 3,400 with it; elsewhere the variable does nothing).
import '../dist/bundle/cli.js';
