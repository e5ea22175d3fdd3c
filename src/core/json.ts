export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** JSON with object keys sorted, so equal values serialise to equal bytes. */
export function stableStringify(value: unknown, indent = 2): string {
  return JSON.stringify(sortKeys(value), null, indent);
}

/**
 * `value` with every object's keys in sorted order. A part already in order is returned as it is
 * rather than copied: replay checkpoints hold thousands of records keyed by ticker, which are.
 */
function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const sorted = sortKeys(value[i]);
      if (sorted === value[i]) continue;
      copy ??= value.slice();
      copy[i] = sorted;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let changed = !isSorted(keys);
  if (changed) sortInPlace(keys);
  const children = new Array<unknown>(keys.length);
  for (let k = 0; k < keys.length; k++) {
    const child = record[keys[k]!];
    children[k] = sortKeys(child);
    if (children[k] !== child) changed = true;
  }
  if (!changed) return value;
  const out: Record<string, unknown> = {};
  for (let k = 0; k < keys.length; k++) out[keys[k]!] = children[k];
  return out;
}

/**
 * `keys.sort()` (UTF-16 code-unit order). Most objects sorted here have a handful of keys (a
 * checkpoint holds tens of thousands of `{ ticker, price }`), and the built-in sort allocates a
 * work array for each: insertion sort does not.
 */
function sortInPlace(keys: string[]): void {
  if (keys.length > SHORT_KEY_LIST) {
    keys.sort();
    return;
  }
  for (let k = 1; k < keys.length; k++) {
    const key = keys[k]!;
    let j = k - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
}

const SHORT_KEY_LIST = 16;

function isSorted(keys: readonly string[]): boolean {
  for (let k = 1; k < keys.length; k++) if (keys[k - 1]! > keys[k]!) return false;
  return true;
}

/**
 * Deep equality of two JSON values, strict enough that code reading either cannot tell them apart:
 * object keys in the same order (iteration order is visible), numbers by Object.is (0 ≠ −0).
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b);
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((value, i) => jsonEqual(value, b[i]));
  }
  const keys = Object.keys(a);
  const otherKeys = Object.keys(b);
  if (keys.length !== otherKeys.length) return false;
  return keys.every((key, i) => key === otherKeys[i] && jsonEqual(a[key], b[key]));
}
