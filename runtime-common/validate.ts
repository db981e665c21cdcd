// The one validation helper: every public boundary reports "Expected <accepted> for <name> but received <value>" (or, for a file it cannot use, "Cannot <doing>: <reason>").

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

/** A received value already put into words (`none`, `an empty file`, `3x4`): error messages show it as it is, unquoted. */
export class Described {
  /** The words shown after "but received". */
  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }
}

/** Marks `text` as a received value already put into words, for {@link invalid} and {@link check}. */
export function described(text: string): Described {
  return new Described(text);
}

/** Renders a received value for an error message: short, unambiguous, never throws. */
export function describeValue(value: unknown): string {
  if (value instanceof Described) return value.text;
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

/** What {@link invalid} and {@link check} may add to the standard message. */
export interface InvalidDetails {
  /** What went wrong or what to do, after the message and a colon. */
  hint?: string;
  /** The error's `argument` when it is not `name` (a flag or a file the message names in more words). */
  argument?: string;
}

/**
 * The standard message, `Expected <accepted> for <name> but received <value>` (then `: <hint>`), for error classes
 * that are not a {@link ValidationError}; `received` is shown by {@link describeValue}.
 */
export function invalidMessage(accepted: string, name: string, received: unknown, hint?: string): string {
  return `Expected ${accepted} for ${name} but received ${describeValue(received)}${hint === undefined ? '' : `: ${hint}`}`;
}

/** Builds the standard error: `Expected <accepted> for <name> but received <value>` (then `: <hint>`). */
export function invalid(accepted: string, name: string, received: unknown, details: InvalidDetails = {}): ValidationError {
  return new ValidationError(invalidMessage(accepted, name, received, details.hint), details.argument ?? name);
}

/** Throws the standard error unless `condition` holds. */
export function check(condition: boolean, accepted: string, name: string, received: unknown, details?: InvalidDetails): asserts condition {
  if (!condition) throw invalid(accepted, name, received, details);
}

/**
 * The standard error for a file, URL or image that exists as a name but cannot be used: `Cannot <doing>: <reason>`
 * (`Cannot read model file m.onnx: no such file`). What was wrong is the reason, not a received value.
 */
export function cannot(doing: string, reason: string, argument: string): ValidationError {
  return new ValidationError(`Cannot ${doing}: ${reason}`, argument);
}

/** Why a file operation failed, in words: `no such file`, `it is a folder`, `permission denied`, else the error's own message. */
export function fileErrorReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
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
      throw invalid(`only the keys ${allowed.map((k) => `"${k}"`).join(', ')}`, name, described(`unknown key "${key}"`), { argument: `${name}.${key}` });
    }
  }
}
