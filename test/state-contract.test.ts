import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateError } from '../src/core/errors.js';
import type { JsonValue } from '../src/core/json.js';
import { MemoryStateStore } from '../src/state/memory-store.js';
import { connectRedisClient, RedisStateStore } from '../src/state/redis-store.js';
import type { RunSnapshot, StateStore } from '../src/state/store.js';
import { deleteKeysUnder, redisUrlForTests, uniquePrefix } from './helpers/redis.js';

interface OpenedStore {
  readonly store: StateStore;
  readonly dispose: () => Promise<void>;
}

const stores: ReadonlyArray<{ readonly kind: string; readonly open: () => Promise<OpenedStore> }> = [
  {
    kind: 'MemoryStateStore',
    open: async () => {
      const store = new MemoryStateStore();
      return { store, dispose: () => store.close() };
    },
  },
  {
    kind: 'RedisStateStore',
    open: async () => {
      const url = redisUrlForTests();
      const prefix = uniquePrefix('contract');
      const store = await RedisStateStore.connect(url, { prefix });
      return {
        store,
        dispose: async () => {
          await store.close();
          const cleaner = await connectRedisClient(url);
          await deleteKeysUnder(cleaner, prefix);
          await cleaner.quit();
        },
      };
    },
  },
];

/** A snapshot whose every field is distinct per date, so a mix-up between dates shows. */
function snapshotOf(date: string, strategyIds: readonly string[] = ['risk4', 'low-vol']): RunSnapshot {
  return {
    runId: `run-${date}`,
    date,
    strategies: Object.fromEntries(
      strategyIds.map((id) => [
        id,
        { lastRebalance: date, signal: { AAPL: 0.25, MSFT: 0.5, [`T${date.slice(-2)}`]: 0.125 }, custom: { id, nested: [1, null, 'x', { deep: true }] } },
      ]),
    ),
    holdings: { asOf: date, cash: 1234.5, positions: [{ ticker: 'AAPL', shares: 10 }, { ticker: 'MSFT', shares: -3 }] },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(stores)('StateStore contract: $kind', ({ open }) => {
  let opened: OpenedStore;
  let store: StateStore;

  beforeEach(async () => {
    opened = await open();
    store = opened.store;
  });

  afterEach(async () => {
    await opened.dispose();
  });

  describe('snapshots', () => {
    it('has nothing for a portfolio never committed', async () => {
      expect(await store.loadLatest('main')).toBeNull();
      expect(await store.loadBefore('main', '2024-01-05')).toBeNull();
      expect(await store.listDates('main')).toEqual([]);
    });

    it('loads back exactly what was committed', async () => {
      const committed = snapshotOf('2024-01-05');
      await store.commit('main', committed);
      expect(await store.loadLatest('main')).toEqual(committed);
    });

    it('loadBefore(D) returns the latest snapshot strictly before D', async () => {
      for (const date of ['2024-01-09', '2024-01-02', '2024-01-05']) await store.commit('main', snapshotOf(date));

      expect(await store.loadBefore('main', '2024-01-02')).toBeNull();
      expect((await store.loadBefore('main', '2024-01-03'))?.date).toBe('2024-01-02');
      expect((await store.loadBefore('main', '2024-01-05'))?.date).toBe('2024-01-02');
      expect(await store.loadBefore('main', '2024-01-06')).toEqual(snapshotOf('2024-01-05'));
      expect((await store.loadBefore('main', '2024-01-09'))?.date).toBe('2024-01-05');
      expect((await store.loadBefore('main', '2030-01-01'))?.date).toBe('2024-01-09');
    });

    it('loadLatest returns the latest date, not the latest commit', async () => {
      await store.commit('main', snapshotOf('2024-01-09'));
      await store.commit('main', snapshotOf('2024-01-02'));
      expect(await store.loadLatest('main')).toEqual(snapshotOf('2024-01-09'));
    });

    it('lists dates ascending whatever the commit order, across month and year ends', async () => {
      for (const date of ['2024-02-01', '2023-12-29', '2024-01-31', '2024-01-02']) await store.commit('main', snapshotOf(date));
      expect(await store.listDates('main')).toEqual(['2023-12-29', '2024-01-02', '2024-01-31', '2024-02-01']);
    });

    it('re-committing a date replaces that snapshot entirely', async () => {
      await store.commit('main', snapshotOf('2024-01-02'));
      await store.commit('main', snapshotOf('2024-01-05', ['risk4', 'low-vol', 'kurtosis']));
      const replacement = { ...snapshotOf('2024-01-05', ['risk4']), runId: 'rerun-2024-01-05' };

      await store.commit('main', replacement);

      expect(await store.loadLatest('main')).toEqual(replacement);
      expect(await store.listDates('main')).toEqual(['2024-01-02', '2024-01-05']);
      expect(await store.loadBefore('main', '2024-01-05')).toEqual(snapshotOf('2024-01-02'));
    });

    it('keeps portfolios apart', async () => {
      await store.commit('main', snapshotOf('2024-01-05'));
      await store.commit('paper', snapshotOf('2024-01-09', ['cluster']));
      expect(await store.listDates('main')).toEqual(['2024-01-05']);
      expect(await store.loadLatest('paper')).toEqual(snapshotOf('2024-01-09', ['cluster']));
      expect(await store.loadBefore('main', '2024-01-10')).toEqual(snapshotOf('2024-01-05'));
    });

    it('stores a snapshot with no strategies and an empty book', async () => {
      const empty: RunSnapshot = { runId: 'r', date: '2024-01-05', strategies: {}, holdings: { asOf: '2024-01-05', cash: 0, positions: [] } };
      await store.commit('main', empty);
      expect(await store.loadLatest('main')).toEqual(empty);
    });
  });

  describe('isolation from callers', () => {
    it('is unaffected by later changes to the committed object', async () => {
      const committed = structuredClone(snapshotOf('2024-01-05')) as MutableSnapshot;
      await store.commit('main', committed);

      committed.runId = 'changed';
      committed.holdings.positions.push({ ticker: 'NVDA', shares: 1 });
      committed.strategies.risk4!.signal.AAPL = 1;
      (committed.strategies.risk4!.custom as { nested: unknown[] }).nested.push('late');

      expect(await store.loadLatest('main')).toEqual(snapshotOf('2024-01-05'));
    });

    it('hands out a fresh copy on every load', async () => {
      await store.commit('main', snapshotOf('2024-01-05'));
      const first = (await store.loadLatest('main')) as MutableSnapshot;

      first.holdings.cash = -1;
      first.strategies['low-vol']!.signal.MSFT = 0;
      delete first.strategies.risk4;

      expect(await store.loadLatest('main')).toEqual(snapshotOf('2024-01-05'));
      expect(await store.loadBefore('main', '2024-01-06')).toEqual(snapshotOf('2024-01-05'));
    });
  });

  describe('rejected input', () => {
    it('refuses a snapshot it could not read back, and stores nothing', async () => {
      const broken = snapshotOf('2024-01-05');
      const withNaN = { ...broken, strategies: { risk4: { ...broken.strategies.risk4!, signal: { AAPL: Number.NaN } } } };
      await expect(store.commit('main', withNaN)).rejects.toThrow(/invalid snapshot.*strategies\.risk4\.signal\.AAPL/);
      await expect(store.commit('main', { ...broken, date: '2024-02-30' })).rejects.toThrow(StateError);
      await expect(store.commit('main', { ...broken, strategies: { 'a:b': broken.strategies.risk4! } })).rejects.toThrow(StateError);
      expect(await store.listDates('main')).toEqual([]);
    });

    it('refuses portfolio ids that could alias other keys', async () => {
      await expect(store.commit('main:run', snapshotOf('2024-01-05'))).rejects.toThrow(/invalid portfolio id "main:run"/);
      await expect(store.loadLatest('*')).rejects.toThrow(StateError);
      await expect(store.acquireLock('', 'me', 1000)).rejects.toThrow(StateError);
    });

    it('refuses a malformed date and a non-positive lock ttl', async () => {
      await expect(store.loadBefore('main', '2024-1-5')).rejects.toThrow(/invalid session date/);
      await expect(store.acquireLock('main', 'me', 0)).rejects.toThrow(/invalid lock ttl/);
    });
  });

  describe('run lock', () => {
    it('admits one owner at a time and lets only that owner release it', async () => {
      expect(await store.acquireLock('main', 'run-a', 10_000)).toBe(true);
      expect(await store.acquireLock('main', 'run-b', 10_000)).toBe(false);

      await store.releaseLock('main', 'run-b');
      expect(await store.acquireLock('main', 'run-b', 10_000)).toBe(false);

      await store.releaseLock('main', 'run-a');
      expect(await store.acquireLock('main', 'run-b', 10_000)).toBe(true);
    });

    it('lets the holder take it again, extending it', async () => {
      expect(await store.acquireLock('main', 'run-a', 150)).toBe(true);
      await sleep(100);
      expect(await store.acquireLock('main', 'run-a', 10_000)).toBe(true);
      await sleep(150);
      expect(await store.acquireLock('main', 'run-b', 10_000)).toBe(false);
    });

    it('expires after its ttl, so a crashed run does not block the next one forever', async () => {
      expect(await store.acquireLock('main', 'crashed', 100)).toBe(true);
      await sleep(250);
      expect(await store.acquireLock('main', 'next', 10_000)).toBe(true);
      await store.releaseLock('main', 'crashed');
      expect(await store.acquireLock('main', 'third', 10_000)).toBe(false);
    });

    it('locks each portfolio separately', async () => {
      expect(await store.acquireLock('main', 'run-a', 10_000)).toBe(true);
      expect(await store.acquireLock('paper', 'run-b', 10_000)).toBe(true);
    });
  });

  it('refuses to work after close()', async () => {
    await store.close();
    await expect(store.loadLatest('main')).rejects.toThrow(StateError);
    await expect(store.commit('main', snapshotOf('2024-01-05'))).rejects.toThrow(StateError);
  });
});

/** What a careless caller could do to a snapshot it holds: RunSnapshot without the readonly. */
interface MutableSnapshot {
  runId: string;
  date: string;
  strategies: Record<string, { lastRebalance: string | null; signal: Record<string, number>; custom: JsonValue }>;
  holdings: { asOf: string; cash: number; positions: { ticker: string; shares: number }[] };
}
