import { isIsoDate, type IsoDate } from '../core/dates.js';
import { UsageError } from '../core/errors.js';

/** Commander argParser for `--date`-like options: rejects anything that is not a real YYYY-MM-DD date. */
export function isoDateArgument(flag: string): (value: string) => IsoDate {
  return (value) => {
    if (!isIsoDate(value)) throw new UsageError(`${flag}: expected a date as YYYY-MM-DD, got "${value}"`);
    return value;
  };
}

export function positiveIntegerArgument(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag}: expected a positive whole number, got "${value}"`);
    return n;
  };
}

export function positiveNumberArgument(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag}: expected a positive number, got "${value}"`);
    return n;
  };
}

/** Write a command's answer to stdout (logs go to stderr). */
export function printLines(lines: readonly string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
