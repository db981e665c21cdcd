// The CPU provider's default thread count: the physical cores this process may use.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';

/** Where Linux describes its CPUs. */
const SYSFS_CPUS = '/sys/devices/system/cpu';

/**
 * Physical cores from Linux's CPU topology: distinct (package, core) pairs among the listed CPUs, so the two
 * hardware threads of one core count once. Undefined where the topology is not there to read (other systems).
 */
export function physicalCores(root = SYSFS_CPUS): number | undefined {
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => /^cpu\d+$/.test(name));
  } catch {
    return undefined;
  }
  const cores = new Set<string>();
  for (const name of names) {
    try {
      const read = (file: string) => readFileSync(path.join(root, name, 'topology', file), 'utf8').trim();
      cores.add(`${read('physical_package_id')}:${read('core_id')}`);
    } catch {
      // An offline CPU has no topology: it is not one this process runs on.
    }
  }
  return cores.size > 0 ? cores.size : undefined;
}

/**
 * Intra-op threads for onnxruntime's CPU provider when the caller names none: the physical cores, at most as many
 * as this process may run on (`availableParallelism`, which honours CPU affinity). Undefined (onnxruntime's own
 * choice) where the cores cannot be counted. onnxruntime's default ran one thread on this project's 2-core VM,
 * whose topology lists two cores: a 512x512 photo tile took 111 to 122 ms against 81 to 83 with two threads.
 */
export function defaultCpuThreads(root = SYSFS_CPUS, allowed = availableParallelism()): number | undefined {
  const cores = physicalCores(root);
  return cores === undefined ? undefined : Math.max(1, Math.min(cores, allowed));
}
