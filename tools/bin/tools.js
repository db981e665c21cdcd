#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// The `tools` bin: committed executable (npm and git keep its mode), running the compiled command line. The shebang asks glibc for transparent huge pages on its allocations (see the denoise bin).
import '../dist/cli.js';
