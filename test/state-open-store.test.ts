import { describe, expect, it } from 'vitest';
import { StateError } from '../src/core/errors.js';
import { MemoryStateStore } from '../src/state/memory-store.js';
import { openStateStore } from '../src/state/open-store.js';
import { RedisStateStore } from '../src/state/redis-store.js';
import { redisUrlForTests, uniquePrefix, unreachableRedisUrl } from './helpers/redis.js';

describe('openStateStore', () => {
  it('gives the in-memory store when no store is configured or "memory" is named', async () => {
    for (const configured of [undefined, 'memory']) {
      const store = await openStateStore(configured);
      expect(store).toBeInstanceOf(MemoryStateStore);
      await store.close();
    }
  });

  it('connects to Redis for a redis:// URL', async () => {
    // Only reads happen here, so the unique prefix leaves no keys behind to clean up.
    const store = await openStateStore(redisUrlForTests(), { prefix: uniquePrefix('open-store') });
    try {
      expect(store).toBeInstanceOf(RedisStateStore);
      expect(await store.listDates('main')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('fails with a StateError when the Redis URL is unreachable', async () => {
    await expect(openStateStore(await unreachableRedisUrl())).rejects.toThrow(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+/);
  });

  it('refuses any other kind of store', async () => {
    for (const configured of ['postgres://db/kairos', 'redis', '', 'Memory']) {
      await expect(openStateStore(configured)).rejects.toThrow(StateError);
    }
    await expect(openStateStore('file:state.json')).rejects.toThrow(/unsupported state store "file:state.json"/);
  });
});
