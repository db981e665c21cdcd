// The one validation helper: the checks' refusals, then the message shapes every package builds its errors with.
import { describe, expect, it } from 'vitest';
import {
  cannot,
  check,
  checkInteger,
  checkKnownKeys,
  checkNumber,
  checkOneOf,
  described,
  describeValue,
  fileErrorReason,
  invalid,
  invalidMessage,
  ValidationError,
} from '../../runtime-common/validate.js';

describe('validate: bad calls', () => {
  it.each([
    ['a fraction for an integer', () => checkInteger(1.5, 'n', { min: 0 }), 'Expected an integer >= 0 for n but received 1.5'],
    ['NaN for a number', () => checkNumber(Number.NaN, 'f', { above: 0, max: 1 }), 'Expected a finite number > 0 and <= 1 for f but received NaN'],
    ['a name not among the choices', () => checkOneOf('gpu', 'device', ['cpu', 'wasm']), 'Expected one of "cpu", "wasm" for device but received "gpu"'],
    ['an unknown key', () => checkKnownKeys({ a: 1, b: 2 }, 'options', ['a']), 'Expected only the keys "a" for options but received unknown key "b"'],
  ])('refuses %s with the standard message', (_, call, message) => {
    expect(call).toThrow(ValidationError);
    expect(call).toThrow(message);
  });

  it('names the unknown key as the argument', () => {
    try {
      checkKnownKeys({ b: 2 }, 'options', ['a']);
      expect.unreachable('checkKnownKeys accepted an unknown key');
    } catch (error) {
      expect((error as ValidationError).argument).toBe('options.b');
    }
  });
});

describe('validate', () => {
  it('formats "Expected <accepted> for <name> but received <value>", with a hint and an argument when given', () => {
    expect(invalidMessage('a port', '--port', 'x')).toBe('Expected a port for --port but received "x"');
    expect(invalidMessage('a port', '--port', 70000, 'ports end at 65535')).toBe('Expected a port for --port but received 70000: ports end at 65535');
    const error = invalid('a writable location', '--out', described('/x (/ is not writable)'), { argument: 'out' });
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('Expected a writable location for --out but received /x (/ is not writable)');
    expect(error.argument).toBe('out');
    expect(invalid('a file', 'model', 3).argument).toBe('model');
    expect(() => check(false, 'a folder', 'dir', described('a file'), { hint: 'pick a folder' })).toThrow('Expected a folder for dir but received a file: pick a folder');
    expect(() => check(true, 'a folder', 'dir', 'x')).not.toThrow();
  });

  it('shows received values short and unambiguous, and words already put into words as they are', () => {
    expect(describeValue('a')).toBe('"a"');
    expect(describeValue(described('an empty file'))).toBe('an empty file');
    expect(describeValue(new Float32Array(3))).toBe('Float32Array(3)');
    expect(describeValue([1, 2])).toBe('[1,2]');
    expect(describeValue('x'.repeat(100))).toBe(`"${'x'.repeat(77)}..."`);
  });

  it('formats "Cannot <doing>: <reason>" for a file that cannot be used, with the reason in words', () => {
    const error = cannot('read model file m.onnx', fileErrorReason(Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' })), '--model');
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('Cannot read model file m.onnx: no such file');
    expect(error.argument).toBe('--model');
    expect(fileErrorReason(Object.assign(new Error('x'), { code: 'EISDIR' }))).toBe('it is a folder');
    expect(fileErrorReason(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe('permission denied');
    expect(fileErrorReason(new Error('disk on fire'))).toBe('disk on fire');
    expect(fileErrorReason('odd')).toBe('odd');
  });
});
