// Devices as data: a frozen table from device name to execution providers, and `auto`, which tries them in order and says why it skipped each.
import { invalid } from './validate.js';

/** One device a runtime can run on. */
export interface DeviceEntry {
  /** ONNX Runtime execution providers, in preference order. */
  executionProviders: readonly string[];
  /** One line for people: what runs there. */
  description: string;
}

/** Device name -> entry; build one with {@link defineDevices}. */
export type DeviceTable = Readonly<Record<string, Readonly<DeviceEntry>>>;

/** A device table with the order `auto` tries. */
export interface Devices {
  table: DeviceTable;
  /** Names `auto` tries, first to last. */
  autoOrder: readonly string[];
}

/** Freezes a device table and its `auto` order (every name in the order must be in the table). */
export function defineDevices(table: Record<string, DeviceEntry>, autoOrder: readonly string[]): Readonly<Devices> {
  for (const name of autoOrder) if (!(name in table)) throw new Error(`auto order names "${name}", which is not in the device table`);
  const frozen: Record<string, Readonly<DeviceEntry>> = {};
  for (const [name, entry] of Object.entries(table)) frozen[name] = Object.freeze({ ...entry, executionProviders: Object.freeze([...entry.executionProviders]) });
  return Object.freeze({ table: Object.freeze(frozen), autoOrder: Object.freeze([...autoOrder]) });
}

/** Every name a caller may pass: `auto` and the table's names. */
export function deviceNames(devices: Devices): string[] {
  return ['auto', ...Object.keys(devices.table)];
}

/** Returns `name` if it is `auto` or in the table, else throws the standard error listing the valid names. */
export function checkDeviceName(name: unknown, devices: Devices, argument = 'device'): string {
  const names = deviceNames(devices);
  if (typeof name === 'string' && names.includes(name)) return name;
  throw invalid(`one of ${names.map((n) => `"${n}"`).join(', ')}`, argument, name);
}

/** What {@link chooseDevice} settled on. */
export interface DeviceChoice<S> {
  /** The device that worked. */
  device: string;
  /** What opening it returned (a session). */
  value: S;
  /** Devices `auto` tried first, each with why it was skipped. */
  skipped: string[];
}

/** Thrown when a device is unavailable (as opposed to a model that no device can load). */
export class DeviceUnavailableError extends Error {
  override name = 'DeviceUnavailableError';
}

/**
 * Opens `name` (or, for `auto`, the first device in the auto order that opens) with `open`. `open` throws
 * {@link DeviceUnavailableError} when the device itself is missing; any other error (a bad model) is not a reason
 * to try the next device and propagates as it is. A named device that is unavailable is an error, never a
 * silent fallback.
 */
export async function chooseDevice<S>(name: string, devices: Devices, open: (device: string) => Promise<S>, argument = 'device'): Promise<DeviceChoice<S>> {
  checkDeviceName(name, devices, argument);
  if (name !== 'auto') {
    try {
      return { device: name, value: await open(name), skipped: [] };
    } catch (error) {
      if (!(error instanceof DeviceUnavailableError)) throw error;
      throw invalid('a device available on this machine', argument, name, { hint: error.message });
    }
  }
  const skipped: string[] = [];
  for (const candidate of devices.autoOrder) {
    try {
      return { device: candidate, value: await open(candidate), skipped };
    } catch (error) {
      if (!(error instanceof DeviceUnavailableError)) throw error;
      skipped.push(`${candidate}: ${error.message}`);
    }
  }
  throw new DeviceUnavailableError(`no device could be opened: ${skipped.join('; ')}`);
}
