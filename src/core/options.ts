/**
 * Validation of option objects, shared by every public constructor: unknown keys are rejected
 * (a misspelt limit must not silently fall back to its default) and numeric limits are checked
 * once, up front. Lookups use own properties only, so `__proto__` or `constructor` keys in user
 * input cannot reach the prototype chain. This module validates; it does not hold defaults.
 */
import { argumentError } from './errors.js';

/**
 * Throw unless every own key of `options` is in `allowed`.
 *
 * @throws {TypeError} `WS_ERR_INVALID_ARGUMENT` naming the first unknown key
 */
export function rejectUnknownKeys(options: object, allowed: ReadonlySet<string>, owner: string): void {
  for (const key of Object.keys(options)) {
    if (!allowed.has(key)) {
      throw argumentError('TypeError', `unknown option "${key}" for ${owner}`);
    }
  }
}

/**
 * The value of an integer option: `fallback` when absent, otherwise an integer in `[min, max]`.
 *
 * @throws {RangeError} `WS_ERR_INVALID_ARGUMENT` for a number out of range or not an integer ({TypeError} for another type)
 */
export function integerOption(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw argumentError(
      typeof value === 'number' ? 'RangeError' : 'TypeError',
      `option "${name}" must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/**
 * The value of a boolean option: `fallback` when absent.
 *
 * @throws {TypeError} `WS_ERR_INVALID_ARGUMENT` when the value is not a boolean
 */
export function booleanOption(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw argumentError('TypeError', `option "${name}" must be a boolean`);
  }
  return value;
}
