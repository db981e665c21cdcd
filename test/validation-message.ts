// The message of the ValidationError a call throws (or a promise rejects with); the test fails if there is none.
import { expect } from 'vitest';
import { ValidationError } from '../runtime-common/validate.js';

/** Runs `run`, expects it to throw a `type` (default ValidationError) and returns the error's message. */
export function thrownMessage(run: () => unknown, type: new (...args: never[]) => Error = ValidationError): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return (error as Error).message;
  }
  throw new Error(`expected a ${type.name}`);
}

/** Awaits `promise`, expects it to reject with a `type` (default ValidationError) and returns the error's message. */
export async function rejectionMessage(promise: Promise<unknown>, type: new (...args: never[]) => Error = ValidationError): Promise<string> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(type);
  return (error as Error).message;
}
