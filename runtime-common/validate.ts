// The one validation helper: every public boundary reports "Expected <accepted> for <name> but received <value>".

/** Error raised for any invalid argument, option, file or spec; `argument` names what was wrong. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  /** The name of the argument, option, key or file that was invalid. */
  readonly argument: string;

  constructor(message: string, argument: string) {
    super(message);
    this.argument = argument;
  }
}

/** Renders a received value for an error message: short, unambiguous, never throws. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${(value as unknown as ArrayLike<unknown>).length ?? value.byteLength})`;
  if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength})`;
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Builds the standard error: `Expected <accepted> for <name> but received <value>`. */
export function invalid(accepted: string, name: string, received: unknown): ValidationError {
  return new ValidationError(`Expected ${accepted} for ${name} but received ${describeValue(received)}`, name);
}

/** Throws the standard error unless `condition` holds. */
export function check(condition: boolean, accepted: string, name: string, received: unknown): asserts condition {
  if (!condition) throw invalid(accepted, name, received);
}

/** Options for {@link checkInteger} and {@link checkNumber}. */
export interface RangeOptions {
  /** Smallest accepted value (inclusive). */
  min?: number;
  /** Largest accepted value (inclusive). */
  max?: number;
  /** Smallest accepted value, exclusive. */
  above?: number;
}

function rangeText(kind: string, { min, max, above }: RangeOptions): string {
  const parts: string[] = [];
  if (above !== undefined) parts.push(`> ${above}`);
  if (min !== undefined) parts.push(`>= ${min}`);
  if (max !== undefined) parts.push(`<= ${max}`);
  return parts.length ? `${kind} ${parts.join(' and ')}` : kind;
}

function inRange(value: number, { min, max, above }: RangeOptions): boolean {
  return (min === undefined || value >= min) && (max === undefined || value <= max) && (above === undefined || value > above);
}

/** Returns `value` if it is an integer within the range, else throws the standard error. */
export function checkInteger(value: unknown, name: string, range: RangeOptions = {}): number {
  check(typeof value === 'number' && Number.isInteger(value) && inRange(value, range), rangeText('an integer', range), name, value);
  return value;
}

/** Returns `value` if it is a finite number within the range, else throws the standard error. */
export function checkNumber(value: unknown, name: string, range: RangeOptions = {}): number {
  check(typeof value === 'number' && Number.isFinite(value) && inRange(value, range), rangeText('a finite number', range), name, value);
  return value;
}

/** Returns `value` if it is one of `choices`, else throws an error listing them. */
export function checkOneOf<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  check(typeof value === 'string' && (choices as readonly string[]).includes(value), `one of ${choices.map((c) => `"${c}"`).join(', ')}`, name, value);
  return value as T;
}

/** Returns `value` if it is a non-empty string (matching `pattern` when given), else throws. */
export function checkString(value: unknown, name: string, pattern?: { regex: RegExp; description: string }): string {
  if (pattern) check(typeof value === 'string' && pattern.regex.test(value), pattern.description, name, value);
  else check(typeof value === 'string' && value.length > 0, 'a non-empty string', name, value);
  return value;
}

/** Returns `value` if it is a boolean, else throws the standard error. */
export function checkBoolean(value: unknown, name: string): boolean {
  check(typeof value === 'boolean', 'a boolean', name, value);
  return value;
}

/** Returns `value` if it is a plain object (not null, not an array), else throws. */
export function checkObject(value: unknown, name: string): Record<string, unknown> {
  check(typeof value === 'object' && value !== null && !Array.isArray(value), 'an object', name, value);
  return value as Record<string, unknown>;
}

/** Throws if `object` has keys outside `allowed`, naming the first unknown key and the accepted ones. */
export function checkKnownKeys(object: Record<string, unknown>, name: string, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(
        `Expected only the keys ${allowed.map((k) => `"${k}"`).join(', ')} for ${name} but received unknown key "${key}"`,
        `${name}.${key}`,
      );
    }
  }
}
