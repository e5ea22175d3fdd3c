import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: ((options?: { type: 'minor' | 'major' }) => void) | null = null;

/**
 * A garbage collection, now: full by default, or of the young generation alone (`minor`, cheap,
 * enough for objects made since the last one). For native memory V8 cannot see: DuckDB result chunks are freed
 * only when their JS wrappers are collected, and V8 does not count what they hold, so the dead
 * chunks of a large columnar scan (hundreds of MB for a multi-year panel) would otherwise stay
 * resident until some unrelated collection — on top of the typed arrays they were copied into.
 */
export function collectGarbage(type: 'minor' | 'major' = 'major'): void {
  if (collect === null) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
  }
  collect({ type });
}
