import { InvalidArgumentError } from 'commander';

/** commander argument parsers that refuse bad input with a message naming what is allowed. */

export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    const trimmed = value.trim();
    if (!/^[+]?\d+$/.test(trimmed))
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    const n = Number(trimmed);
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${n}.`);
    return n;
  };
}

export function positiveNumber(max: number): (value: string) => number {
  return (value: string): number => {
    const trimmed = value.trim();
    const n = Number(trimmed);
    if (trimmed === '' || !Number.isFinite(n) || n <= 0 || n > max)
      throw new InvalidArgumentError(`expected a number above 0 and at most ${max}.`);
    return n;
  };
}

export function nonEmpty(what: string): (value: string) => string {
  return (value: string): string => {
    if (value.trim() === '') throw new InvalidArgumentError(`${what} must not be empty.`);
    return value;
  };
}
