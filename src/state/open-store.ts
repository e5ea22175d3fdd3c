import { StateError } from '../core/errors.js';
import { MemoryStateStore } from './memory-store.js';
import type { RedisConnectOptions } from './redis-store.js';
import type { StateStore } from './store.js';

export type OpenStateStoreOptions = RedisConnectOptions;

/**
 * The store named by `--state` / `REDIS_URL`: nothing or `memory` gives the embedded in-memory
 * store, a `redis://` or `rediss://` URL gives Redis (connected, or a StateError right away).
 */
export async function openStateStore(url: string | undefined, options: OpenStateStoreOptions = {}): Promise<StateStore> {
  if (url === undefined || url === 'memory') return new MemoryStateStore();
  if (url.startsWith('redis://') || url.startsWith('rediss://')) {
    // ioredis costs ~100 ms to load; runs on the embedded store should not pay for it.
    const { RedisStateStore } = await import('./redis-store.js');
    return RedisStateStore.connect(url, options);
  }
  throw new StateError(`unsupported state store ${JSON.stringify(url)}: use "memory" or a redis:// / rediss:// URL`);
}
