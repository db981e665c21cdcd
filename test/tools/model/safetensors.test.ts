// safetensors reader and writer: every malformed header is named with the file and tensor; round trips are exact.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../runtime-common/validate.js';
import type { WeightTensor } from '../../../tools/model/build-tfjs.js';
import { parseSafetensors, readSafetensors, serializeSafetensors } from '../../../tools/model/safetensors.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();

/** A file with a hand-written header (padded to 8 bytes) and `data` bytes after it. */
function fileWith(header: unknown, dataBytes: number, headerText = JSON.stringify(header)): Uint8Array {
  const json = new TextEncoder().encode(headerText);
  const bytes = new Uint8Array(8 + json.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  return bytes;
}

function messageOf(bytes: Uint8Array): string {
  try {
    parseSafetensors(bytes, 'w.safetensors');
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected the file to be rejected');
}

const tensor = (shape: number[], values?: number[]): WeightTensor => ({
  shape,
  data: Float32Array.from(values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i * 0.5 - 1)),
});

describe('parseSafetensors: bad files', () => {
  it('rejects files too short for a header length, naming the file', () => {
    expect(messageOf(new Uint8Array(3))).toBe('Expected a safetensors file (8-byte header length, JSON header, data) for the file in w.safetensors but received 3 byte(s)');
  });

  it('rejects a header length past the end of the file (truncated or foreign)', () => {
    const bytes = fileWith({}, 0);
    new DataView(bytes.buffer).setBigUint64(0, 1000n, true);
    expect(messageOf(bytes)).toMatch(/^Expected a header length from 2 to 2 bytes \(the file has 10\) for the header length in w\.safetensors but received 1000/);
    expect(messageOf(new TextEncoder().encode('\x89PNG\r\n\x1a\n0000000000'))).toMatch(/for the header length in w\.safetensors/);
  });

  it('rejects a header that is not JSON or not an object', () => {
    expect(messageOf(fileWith(null, 0, '{"a": '))).toMatch(/^Expected a JSON header for the header in w\.safetensors but received bytes that do not parse/);
    expect(messageOf(fileWith([1, 2], 0))).toBe('Expected a JSON object for the header in w.safetensors but received [1,2]');
  });

  it('rejects non-string metadata', () => {
    expect(messageOf(fileWith({ __metadata__: { epochs: 3 } }, 0))).toBe('Expected a string for metadata "epochs" in w.safetensors but received 3');
  });

  it.each([
    ['a foreign dtype', { a: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, 4, 'Expected dtype "F32" (float32) for tensor "a" in w.safetensors but received "BF16"'],
    ['a bad shape', { a: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 8] } }, 8, 'Expected a shape of integers >= 0 for tensor "a" in w.safetensors but received [2,-1]'],
    ['missing offsets', { a: { dtype: 'F32', shape: [2] } }, 8, 'Expected data_offsets [begin, end] of integers >= 0 for tensor "a" in w.safetensors but received undefined'],
    ['an unknown key', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8], scale: 2 } }, 8, 'Expected only the keys "dtype", "shape", "data_offsets" for tensor "a" in w.safetensors but received unknown key "scale"'],
    ['offsets past the data', { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8, 'Expected data_offsets within the 8 data bytes for tensor "a" in w.safetensors but received [0, 16] (a truncated file?)'],
    ['offsets that disagree with the shape', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8, 'Expected 12 bytes for shape [3] for tensor "a" in w.safetensors but received 8 bytes (data_offsets [0, 8])'],
    ['overlapping tensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, 'Expected tensors that cover the data contiguously for tensor "b" in w.safetensors but received data_offsets [4, 8], which overlaps the tensor before it'],
    ['a hole', { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8, 'Expected tensors that cover the data contiguously for tensor "a" in w.safetensors but received data_offsets [4, 8], which leaves bytes 0..4 unused'],
    ['trailing bytes', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8, 'Expected 4 data bytes (what the header describes) for the data in w.safetensors but received 8 bytes'],
  ])('rejects %s, naming the tensor', (_, header, dataBytes, message) => {
    expect(messageOf(fileWith(header, dataBytes))).toBe(message);
  });

  it('names the tensor in the error argument', () => {
    try {
      parseSafetensors(fileWith({ kernel: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, 2), 'w.safetensors');
    } catch (error) {
      expect((error as ValidationError).argument).toBe('kernel');
    }
  });

  it('readSafetensors names a missing file', async () => {
    await expect(readSafetensors('/nonexistent/w.safetensors')).rejects.toThrow('Cannot read weights file /nonexistent/w.safetensors: no such file');
  });
});

describe('serializeSafetensors: bad calls', () => {
  it('rejects data that does not fit the shape, non-string metadata and reserved names', () => {
    expect(() => serializeSafetensors(new Map([['a', { shape: [2, 2], data: new Float32Array(3) }]]))).toThrow('Expected a Float32Array of 4 values (shape [2, 2]) for tensor "a" in safetensors tensors but received Float32Array(3)');
    expect(() => serializeSafetensors(new Map(), { epochs: 3 as unknown as string })).toThrow('Expected a string for metadata "epochs" in safetensors metadata but received 3');
    expect(() => serializeSafetensors(new Map([['__metadata__', tensor([1])]]))).toThrow(/for a tensor name/);
  });
});

describe('safetensors round trip', () => {
  it('writes an 8-byte aligned header and reads back every value, shape, order and metadata', () => {
    const tensors = new Map<string, WeightTensor>([
      ['encoder_conv1.kernel', tensor([3, 3, 1, 16])],
      ['encoder_conv1.bias', tensor([16], Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? -0 : 1 / (i + 1))))],
      ['scalar', tensor([], [Math.PI])],
      ['empty', tensor([0, 4])],
      ['extremes', tensor([4], [3.4028234663852886e38, -1.401298464324817e-45, Infinity, -Infinity])],
    ]);
    const bytes = serializeSafetensors(tensors, { format: 'onnx-denoiser/weights', epochs: '3' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header['encoder_conv1.bias']).toEqual({ dtype: 'F32', shape: [16], data_offsets: [576, 640] });
    const back = parseSafetensors(bytes, 'w');
    expect(back.metadata).toEqual({ format: 'onnx-denoiser/weights', epochs: '3' });
    expect([...back.tensors.keys()]).toEqual([...tensors.keys()]);
    for (const [name, t] of tensors) {
      expect(back.tensors.get(name)!.shape, name).toEqual(t.shape);
      expect(back.tensors.get(name)!.data, name).toEqual(t.data);
    }
    expect(Object.is(back.tensors.get('encoder_conv1.bias')!.data[0], -0)).toBe(true);
  });

  it('reads little-endian float32 exactly as written by hand, from a file and from a subarray', () => {
    const bytes = fileWith({ __metadata__: { a: 'b' }, x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 8);
    const view = new DataView(bytes.buffer);
    view.setUint32(bytes.length - 8, 0x3f800000, true); // 1.0
    view.setUint32(bytes.length - 4, 0xc0490fdb, true); // -pi in float32
    const dir = makeTempDir('safetensors-');
    writeFileSync(join(dir, 'w.safetensors'), bytes);
    return readSafetensors(join(dir, 'w.safetensors')).then((file) => {
      expect(Array.from(file.tensors.get('x')!.data)).toEqual([1, Math.fround(-Math.PI)]);
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      expect(Array.from(parseSafetensors(shifted.subarray(3), 'w').tensors.get('x')!.data)).toEqual([1, Math.fround(-Math.PI)]);
    });
  });
});
