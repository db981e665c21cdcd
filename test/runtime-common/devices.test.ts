// Devices as data: the frozen table, unknown names, `auto` with its reasons, and named devices that are missing.
import { describe, expect, it } from 'vitest';
import { chooseDevice, defineDevices, DeviceUnavailableError } from '../../runtime-common/devices.js';

const devices = defineDevices(
  {
    gpu: { executionProviders: ['cuda'], description: 'a GPU' },
    cpu: { executionProviders: ['cpu'], description: 'the CPU' },
  },
  ['gpu', 'cpu'],
);

describe('devices: bad calls', () => {
  it('rejects an unknown name, listing the valid ones', async () => {
    await expect(chooseDevice('tpu', devices, async () => 1)).rejects.toThrow('Expected one of "auto", "gpu", "cpu" for device but received "tpu"');
    await expect(chooseDevice(3 as unknown as string, devices, async () => 1, '--device')).rejects.toThrow('Expected one of "auto", "gpu", "cpu" for --device but received 3');
  });

  it('refuses an auto order naming a device outside the table', () => {
    expect(() => defineDevices({ cpu: { executionProviders: ['cpu'], description: '' } }, ['gpu'])).toThrow('auto order names "gpu", which is not in the device table');
  });

  it('makes a named device that is unavailable an error, never a fallback', async () => {
    const open = async (d: string) => {
      if (d === 'gpu') throw new DeviceUnavailableError('no driver');
      return d;
    };
    await expect(chooseDevice('gpu', devices, open)).rejects.toThrow('Expected a device available on this machine for device but received "gpu": no driver');
  });
});

describe('devices', () => {
  it('is frozen data', () => {
    expect(Object.isFrozen(devices.table)).toBe(true);
    expect(Object.isFrozen(devices.table.cpu!.executionProviders)).toBe(true);
    expect(devices.autoOrder).toEqual(['gpu', 'cpu']);
  });

  it('auto tries in order and says why it skipped each', async () => {
    const tried: string[] = [];
    const choice = await chooseDevice('auto', devices, async (d) => {
      tried.push(d);
      if (d === 'gpu') throw new DeviceUnavailableError('no driver');
      return `session on ${d}`;
    });
    expect(tried).toEqual(['gpu', 'cpu']);
    expect(choice).toEqual({ device: 'cpu', value: 'session on cpu', skipped: ['gpu: no driver'] });
  });

  it('does not try the next device when the model is at fault', async () => {
    await expect(chooseDevice('auto', devices, async () => { throw new Error('bad model'); })).rejects.toThrow('bad model');
    await expect(chooseDevice('auto', devices, async () => { throw new DeviceUnavailableError('gone'); })).rejects.toThrow('no device could be opened: gpu: gone; cpu: gone');
  });
});
