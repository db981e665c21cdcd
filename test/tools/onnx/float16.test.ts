// float32 -> float16 rounding: known bit patterns (normals, subnormals, ties, overflow, NaN) and every float16 round trip.
import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float16BytesToFloat32, float32ToFloat16Bits, fromFloat16, toFloat16 } from '../../../tools/onnx/float16.js';

describe('float32ToFloat16Bits: edge cases first', () => {
  it.each([
    ['NaN', NaN, 0x7e00],
    ['+infinity', Infinity, 0x7c00],
    ['-infinity', -Infinity, 0xfc00],
    ['the largest finite float32', 3.4028234663852886e38, 0x7c00],
    ['65520 (rounds up to infinity)', 65520, 0x7c00],
    ['65519.99 (rounds down to the largest half)', 65519.99, 0x7bff],
    ['65504, the largest half', 65504, 0x7bff],
    ['-0', -0, 0x8000],
    ['+0', 0, 0x0000],
    ['2^-14, the smallest normal', 2 ** -14, 0x0400],
    ['2^-14 - 2^-24, the largest subnormal', 2 ** -14 - 2 ** -24, 0x03ff],
    ['2^-24, the smallest subnormal', 2 ** -24, 0x0001],
    ['-2^-24', -(2 ** -24), 0x8001],
    ['2^-25 (a tie, to even: zero)', 2 ** -25, 0x0000],
    ['2^-25 plus a float32 ulp (rounds up)', 2 ** -25 * (1 + 2 ** -23), 0x0001],
    ['3 * 2^-25 (a tie between 1 and 2 subnormal ulps, to even: 2)', 3 * 2 ** -25, 0x0002],
    ['2.5 * 2^-24 (a tie, to even: 2)', 2.5 * 2 ** -24, 0x0002],
    ['2^-26 (below half the smallest subnormal)', 2 ** -26, 0x0000],
    ['a subnormal that carries into the smallest normal', 2 ** -14 - 2 ** -26, 0x0400],
    ['1', 1, 0x3c00],
    ['-2', -2, 0xc000],
    ['1/3', 1 / 3, 0x3555],
    ['0.1', 0.1, 0x2e66],
    ['1 + 2^-11 (a tie, to even: 1)', 1 + 2 ** -11, 0x3c00],
    ['1 + 3 * 2^-11 (a tie, to even: 1 + 2^-9)', 1 + 3 * 2 ** -11, 0x3c02],
    ['1 + 2^-11 + 2^-20 (above the tie)', 1 + 2 ** -11 + 2 ** -20, 0x3c01],
    ['2047.5 (a carry through the mantissa into the exponent)', 2047.5, 0x6800],
    ['pi', Math.PI, 0x4248],
  ])('%s', (_, value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
  });
});

describe('float16 round trips', () => {
  it('decodes known patterns', () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0x7bff)).toBe(65504);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(Number.isNaN(float16BitsToFloat32(0x7e01))).toBe(true);
    expect(Object.is(float16BitsToFloat32(0x8000), -0)).toBe(true);
  });

  it('every finite float16 survives float16 -> float32 -> float16 exactly', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00 && bits & 0x3ff) continue; // NaN payloads
      const back = float32ToFloat16Bits(float16BitsToFloat32(bits));
      if (back !== bits) throw new Error(`0x${bits.toString(16)} came back as 0x${back.toString(16)}`);
    }
  });

  it('midpoints between neighbours round to the even one; points beside them to the nearer', () => {
    for (let bits = 0; bits < 0x7bff; bits += 7) {
      const low = float16BitsToFloat32(bits);
      const high = float16BitsToFloat32(bits + 1);
      const mid = (low + high) / 2;
      const even = bits % 2 === 0 ? bits : bits + 1;
      expect(float32ToFloat16Bits(mid)).toBe(even);
      expect(float32ToFloat16Bits(-mid)).toBe(even | 0x8000);
      expect(float32ToFloat16Bits(mid - (high - low) / 8)).toBe(bits);
      expect(float32ToFloat16Bits(mid + (high - low) / 8)).toBe(bits + 1);
    }
  });

  it('converts arrays and little-endian bytes', () => {
    const values = [0, 1, -2.5, 65504, 2 ** -24];
    const halves = toFloat16(values);
    expect(Array.from(halves)).toEqual([0, 0x3c00, 0xc100, 0x7bff, 0x0001]);
    expect(Array.from(fromFloat16(halves))).toEqual(values);
    const bytes = new Uint8Array([0x00, 0x3c, 0x00, 0xc1]);
    expect(Array.from(float16BytesToFloat32(bytes))).toEqual([1, -2.5]);
  });
});
