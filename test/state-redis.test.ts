import type { ChainableCommander, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toEpochDay } from '../src/core/dates.js';
import { StateError } from '../src/core/errors.js';
import { stableStringify } from '../src/core/json.js';
import { connectRedisClient, RedisStateStore } from '../src/state/redis-store.js';
import type { RunSnapshot, StrategyState } from '../src/state/store.js';
import { deleteKeysUnder, keysUnder, redisUrlForTests, uniquePrefix, unreachableRedisUrl } from './helpers/redis.js';

function strategyState(date: string, weight: number): StrategyState {
  return { lastRebalance: date, signal: { AAPL: weight, MSFT: 1 - weight }, custom: { lookback: 20, regime: null } };
}

function snapshotOf(date: string, strategyIds: readonly string[], runId = `run-${date}`): RunSnapshot {
  return {
    runId,
    date,
    strategies: Object.fromEntries(strategyIds.map((id, index) => [id, strategyState(date, index / 10)])),
    holdings: { asOf: date, cash: 100, positions: [{ ticker: 'AAPL', shares: 3 }] },
  };
}

/** Every key under the prefix with its type and raw value, to prove a failed commit changed nothing. */
async function dumpKeys(client: Redis, prefix: string): Promise<Record<string, unknown>> {
  const dump: Record<string, unknown> = {};
  for (const key of await keysUnder(client, prefix)) {
    const type = await client.type(key);
    dump[key] = type === 'zset' ? await client.zrange(key, 0, '-1', 'WITHSCORES') : await client.get(key);
  }
  return dump;
}

/** Makes every transaction the client starts fail at EXEC after all the store's writes are queued. */
function failTransactionsBeforeExec(client: Redis): void {
  const startTransaction = client.multi.bind(client) as () => ChainableCommander;
  Object.assign(client, {
    multi: () => {
      const transaction = startTransaction();
      const exec = transaction.exec.bind(transaction);
      return Object.assign(transaction, {
        exec: () => {
          transaction.call('KAIROS-INJECTED-FAILURE');
          return exec();
        },
      });
    },
  });
}

describe('RedisStateStore', () => {
  const url = redisUrlForTests();
  let prefix: string;
  let raw: Redis;
  const opened: RedisStateStore[] = [];

  async function openStore(): Promise<RedisStateStore> {
    const store = await RedisStateStore.connect(url, { prefix });
    opened.push(store);
    return store;
  }

  beforeEach(async (context) => {
    prefix = uniquePrefix(context.task.name);
    raw = await connectRedisClient(url);
  });

  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await deleteKeysUnder(raw, prefix);
    await raw.quit();
  });

  describe('key layout', () => {
    it('writes exactly the documented keys, as stable compact JSON', async () => {
      const store = await openStore();
      const older = snapshotOf('2024-01-02', ['risk4']);
      const latest = snapshotOf('2024-01-05', ['low-vol', 'risk4']);
      await store.commit('main', older);
      await store.commit('main', latest);
      expect(await store.acquireLock('main', 'run-7', 60_000)).toBe(true);

      const p = `${prefix}:main`;
      expect(await keysUnder(raw, prefix)).toEqual(
        [
          `${p}:lock`,
          `${p}:run:2024-01-02:holdings`,
          `${p}:run:2024-01-02:meta`,
          `${p}:run:2024-01-02:strategies:risk4:state`,
          `${p}:run:2024-01-05:holdings`,
          `${p}:run:2024-01-05:meta`,
          `${p}:run:2024-01-05:strategies:low-vol:state`,
          `${p}:run:2024-01-05:strategies:risk4:state`,
          `${p}:runs`,
          `${p}:strategies:low-vol:state`,
          `${p}:strategies:risk4:state`,
        ].sort(),
      );

      expect(await raw.type(`${p}:runs`)).toBe('zset');
      expect(await raw.zrange(`${p}:runs`, 0, '-1', 'WITHSCORES')).toEqual(['2024-01-02', String(toEpochDay('2024-01-02')), '2024-01-05', String(toEpochDay('2024-01-05'))]);

      const metaJson = await raw.get(`${p}:run:2024-01-05:meta`);
      const meta = JSON.parse(metaJson ?? 'null') as { committedAt: string };
      expect(meta).toEqual({ runId: 'run-2024-01-05', date: '2024-01-05', strategies: ['low-vol', 'risk4'], committedAt: expect.any(String) });
      expect(Number.isNaN(Date.parse(meta.committedAt))).toBe(false);
      expect(metaJson).toBe(stableStringify(meta, 0));

      expect(await raw.get(`${p}:run:2024-01-05:holdings`)).toBe(stableStringify(latest.holdings, 0));
      expect(await raw.get(`${p}:run:2024-01-05:strategies:risk4:state`)).toBe(stableStringify(latest.strategies.risk4, 0));
      expect(await raw.get(`${p}:run:2024-01-02:strategies:risk4:state`)).toBe(stableStringify(older.strategies.risk4, 0));
      expect(await raw.get(`${p}:strategies:risk4:state`)).toBe(stableStringify(latest.strategies.risk4, 0));
      expect(await raw.get(`${p}:strategies:low-vol:state`)).toBe(stableStringify(latest.strategies['low-vol'], 0));

      expect(await raw.get(`${p}:lock`)).toBe('run-7');
      const ttl = await raw.pttl(`${p}:lock`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    });

    it('uses "kairos" as the default prefix', async () => {
      const store = await RedisStateStore.connect(url);
      opened.push(store);
      const portfolio = uniquePrefix('default-prefix').replaceAll(':', '.');
      try {
        await store.commit(portfolio, snapshotOf('2024-01-05', ['risk4']));
        expect(await keysUnder(raw, `kairos:${portfolio}`)).toContain(`kairos:${portfolio}:runs`);
      } finally {
        await deleteKeysUnder(raw, `kairos:${portfolio}`);
      }
    });

    it('re-committing a date deletes the strategy keys it no longer has', async () => {
      const store = await openStore();
      await store.commit('main', snapshotOf('2024-01-05', ['low-vol', 'risk4']));
      await store.commit('main', snapshotOf('2024-01-05', ['risk4'], 'rerun'));

      const strategyKeys = (await keysUnder(raw, prefix)).filter((key) => key.includes(':strategies:'));
      expect(strategyKeys).toEqual([`${prefix}:main:run:2024-01-05:strategies:risk4:state`, `${prefix}:main:strategies:risk4:state`]);
    });

    it('keeps the per-strategy latest keys on the latest date, whatever the commit order', async () => {
      const store = await openStore();
      await store.commit('main', snapshotOf('2024-01-05', ['risk4']));
      await store.commit('main', snapshotOf('2024-01-02', ['risk4', 'cluster']));

      expect(await raw.get(`${prefix}:main:strategies:risk4:state`)).toBe(stableStringify(strategyState('2024-01-05', 0), 0));
      expect(await raw.exists(`${prefix}:main:strategies:cluster:state`)).toBe(0);

      await store.commit('main', snapshotOf('2024-01-09', ['cluster']));
      expect(await raw.exists(`${prefix}:main:strategies:risk4:state`)).toBe(0);
      expect(await raw.get(`${prefix}:main:strategies:cluster:state`)).toBe(stableStringify(strategyState('2024-01-09', 0), 0));
    });
  });

  describe('atomic commit', () => {
    it('leaves the previous state intact when the transaction fails before EXEC', async () => {
      const writer = await openStore();
      await writer.commit('main', snapshotOf('2024-01-05', ['low-vol', 'risk4']));
      const before = await dumpKeys(raw, prefix);

      const client = await connectRedisClient(url);
      failTransactionsBeforeExec(client);
      const failing = new RedisStateStore(client, { prefix });
      opened.push(failing);

      // Replaces the latest date (deletes low-vol) and adds a newer one: both must not happen.
      await expect(failing.commit('main', snapshotOf('2024-01-05', ['risk4'], 'rerun'))).rejects.toThrow(/committing .*:run:2024-01-05:meta.*EXECABORT/);
      await expect(failing.commit('main', snapshotOf('2024-01-09', ['cluster']))).rejects.toThrow(StateError);

      expect(await dumpKeys(raw, prefix)).toEqual(before);
      expect(await writer.loadLatest('main')).toEqual(snapshotOf('2024-01-05', ['low-vol', 'risk4']));
      expect(await writer.listDates('main')).toEqual(['2024-01-05']);
    });

    it('leaves the previous state intact when the connection is killed', async () => {
      const writer = await openStore();
      await writer.commit('main', snapshotOf('2024-01-05', ['risk4']));
      const before = await dumpKeys(raw, prefix);

      const client = await connectRedisClient(url);
      const doomed = new RedisStateStore(client, { prefix });
      opened.push(doomed);
      await raw.client('KILL', 'ID', String(await client.client('ID')));

      await expect(doomed.commit('main', snapshotOf('2024-01-09', ['risk4']))).rejects.toThrow(StateError);
      expect(await dumpKeys(raw, prefix)).toEqual(before);
      expect(await writer.loadLatest('main')).toEqual(snapshotOf('2024-01-05', ['risk4']));
    });

    it('refuses to write over a runs key of the wrong type instead of half-applying', async () => {
      const store = await openStore();
      await raw.set(`${prefix}:main:runs`, 'not a sorted set');

      await expect(store.commit('main', snapshotOf('2024-01-05', ['risk4']))).rejects.toThrow(new RegExp(`${prefix}:main:runs .*WRONGTYPE`));
      expect(await keysUnder(raw, prefix)).toEqual([`${prefix}:main:runs`]);
    });

    it('serialises concurrent commits to one date so no orphan strategy keys remain', async () => {
      const [first, second] = [await openStore(), await openStore()];
      const variants = [['a', 'b'], ['c'], ['a', 'd'], ['e', 'f', 'g'], ['b']];
      await Promise.all(
        variants.flatMap((ids, index) => [
          first.commit('main', snapshotOf('2024-01-05', ids, `first-${index}`)),
          second.commit('main', snapshotOf('2024-01-05', ids.map((id) => `${id}2`), `second-${index}`)),
        ]),
      );

      const winner = await first.loadLatest('main');
      const listed = Object.keys(winner?.strategies ?? {}).sort();
      const runScoped = (await keysUnder(raw, `${prefix}:main:run:2024-01-05:strategies`)).map((key) => key.split(':').at(-2));
      const latestScoped = (await keysUnder(raw, `${prefix}:main:strategies`)).map((key) => key.split(':').at(-2));
      expect(runScoped).toEqual(listed);
      expect(latestScoped).toEqual(listed);
    });
  });

  describe('durability and corruption', () => {
    it('a new store on a new connection reads the same state and honours the same lock', async () => {
      const first = await openStore();
      await first.commit('main', snapshotOf('2024-01-02', ['risk4']));
      await first.commit('main', snapshotOf('2024-01-05', ['risk4', 'low-vol']));
      expect(await first.acquireLock('main', 'run-1', 60_000)).toBe(true);
      await first.close();

      const restarted = await openStore();
      expect(await restarted.loadLatest('main')).toEqual(snapshotOf('2024-01-05', ['risk4', 'low-vol']));
      expect(await restarted.loadBefore('main', '2024-01-05')).toEqual(snapshotOf('2024-01-02', ['risk4']));
      expect(await restarted.listDates('main')).toEqual(['2024-01-02', '2024-01-05']);
      expect(await restarted.acquireLock('main', 'run-2', 60_000)).toBe(false);
    });

    it('names the key whose JSON is corrupt', async () => {
      const store = await openStore();
      await store.commit('main', snapshotOf('2024-01-05', ['risk4']));
      const metaKey = `${prefix}:main:run:2024-01-05:meta`;
      await raw.set(metaKey, '{"runId": "run-2024-01-05", ');

      await expect(store.loadLatest('main')).rejects.toThrow(StateError);
      await expect(store.loadLatest('main')).rejects.toThrow(`corrupt state at Redis key ${metaKey}: not valid JSON`);
    });

    it('names the key and the field whose shape is wrong', async () => {
      const store = await openStore();
      await store.commit('main', snapshotOf('2024-01-05', ['risk4']));
      const stateKey = `${prefix}:main:run:2024-01-05:strategies:risk4:state`;
      await raw.set(stateKey, stableStringify({ lastRebalance: '2024-01-05', signal: { AAPL: 'heavy' }, custom: null }, 0));

      await expect(store.loadBefore('main', '2024-01-06')).rejects.toThrow(new RegExp(`corrupt state at Redis key ${stateKey}: signal\\.AAPL`));
    });

    it('names a strategy key that the meta lists but that is missing', async () => {
      const store = await openStore();
      await store.commit('main', snapshotOf('2024-01-05', ['risk4']));
      const holdingsKey = `${prefix}:main:run:2024-01-05:holdings`;
      await raw.del(holdingsKey);

      await expect(store.loadLatest('main')).rejects.toThrow(`lists Redis key ${holdingsKey}, which is missing`);
    });

    it('names a date in runs whose meta is missing, and a member that is not a date', async () => {
      const store = await openStore();
      await raw.zadd(`${prefix}:main:runs`, toEpochDay('2024-01-05'), '2024-01-05');
      await expect(store.loadLatest('main')).rejects.toThrow(`lists 2024-01-05 but ${prefix}:main:run:2024-01-05:meta is missing`);

      await raw.zadd(`${prefix}:main:runs`, 0, 'yesterday');
      await expect(store.listDates('main')).rejects.toThrow(`corrupt state at Redis key ${prefix}:main:runs: member "yesterday"`);
    });
  });

  describe('connecting', () => {
    it('fails fast with a StateError naming the URL when nothing listens', async () => {
      const closed = await unreachableRedisUrl();
      const started = Date.now();
      const failure = await RedisStateStore.connect(closed).then(
        () => null,
        (err: unknown) => err,
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(failure).toBeInstanceOf(StateError);
      expect((failure as StateError).message).toMatch(
        new RegExp(`^cannot reach Redis at ${closed}: connect ECONNREFUSED .*\\(is redis-server running\\? set --state or REDIS_URL\\)$`),
      );
    });

    it('keeps a password out of the message', async () => {
      const closed = (await unreachableRedisUrl()).replace('redis://', 'redis://kairos:hunter2@');
      await expect(RedisStateStore.connect(closed)).rejects.toThrow(/cannot reach Redis at redis:\/\/kairos:\*\*\*@127\.0\.0\.1:\d+: /);
      await expect(RedisStateStore.connect(closed)).rejects.not.toThrow(/hunter2/);
    });

    it('refuses a prefix that could collide with other key spaces', async () => {
      await expect(RedisStateStore.connect(url, { prefix: 'kairos:*' })).rejects.toThrow(/invalid Redis key prefix/);
      await expect(RedisStateStore.connect(url, { prefix: '' })).rejects.toThrow(StateError);
    });

    it('accepts a multi-segment prefix', async () => {
      prefix = `${uniquePrefix('segments')}:prod`;
      const store = await openStore();
      await store.commit('main', snapshotOf('2024-01-05', ['risk4']));
      expect(await keysUnder(raw, prefix)).toContain(`${prefix}:main:runs`);
    });
  });
});
