import { Redis } from 'ioredis';
import { z } from 'zod';
import { isIsoDate, toEpochDay, type IsoDate } from '../core/dates.js';
import { StateError } from '../core/errors.js';
import { stableStringify } from '../core/json.js';
import {
  describeIssues,
  holdingsSchema,
  isKeySegment,
  keySegment,
  requireLockTtl,
  requirePortfolioId,
  requireSessionDate,
  sessionDate,
  strategyStateSchema,
  validSnapshotForCommit,
} from './snapshot-schema.js';
import type { RunSnapshot, StateStore, StrategyState } from './store.js';

/**
 * Redis key layout (values are compact JSON written by stableStringify, so equal state gives
 * equal bytes). `{prefix}` defaults to `kairos`; `{portfolio}` and `{id}` are restricted to
 * letters, digits, `_`, `.`, `-`, so no id can alias another id's keys.
 *
 * | Key                                                     | Type   | Value                                                       |
 * |---------------------------------------------------------|--------|-------------------------------------------------------------|
 * | `{prefix}:{portfolio}:runs`                             | ZSET   | member = session date `YYYY-MM-DD`, score = its epoch day   |
 * | `{prefix}:{portfolio}:run:{date}:meta`                  | STRING | JSON `{committedAt, date, runId, strategies: [ids]}`        |
 * | `{prefix}:{portfolio}:run:{date}:holdings`              | STRING | JSON Holdings `{asOf, cash, positions: [{shares, ticker}]}` |
 * | `{prefix}:{portfolio}:run:{date}:strategies:{id}:state` | STRING | JSON StrategyState `{custom, lastRebalance, signal}`        |
 * | `{prefix}:{portfolio}:strategies:{id}:state`            | STRING | JSON StrategyState of `{id}` in the latest snapshot         |
 * | `{prefix}:{portfolio}:lock`                             | STRING | owner token of the run lock; expires after its ttl (PX)     |
 *
 * A snapshot is readable only through its meta: `strategies` lists exactly the strategy keys of
 * that date. The `strategies:{id}:state` keys always mirror the latest date in `runs`: committing
 * an older date leaves them alone, and a strategy missing from the latest snapshot has no key.
 * commit() changes all keys of one snapshot (and `runs`, and the latest keys) in one MULTI/EXEC.
 */
class KeyLayout {
  constructor(
    private readonly prefix: string,
    private readonly portfolio: string,
  ) {}

  get runs(): string {
    return `${this.prefix}:${this.portfolio}:runs`;
  }

  get lock(): string {
    return `${this.prefix}:${this.portfolio}:lock`;
  }

  meta(date: IsoDate): string {
    return `${this.prefix}:${this.portfolio}:run:${date}:meta`;
  }

  holdings(date: IsoDate): string {
    return `${this.prefix}:${this.portfolio}:run:${date}:holdings`;
  }

  runStrategyState(date: IsoDate, strategyId: string): string {
    return `${this.prefix}:${this.portfolio}:run:${date}:strategies:${strategyId}:state`;
  }

  latestStrategyState(strategyId: string): string {
    return `${this.prefix}:${this.portfolio}:strategies:${strategyId}:state`;
  }
}

const runMetaSchema = z.object({
  runId: z.string().min(1),
  date: sessionDate,
  strategies: z.array(keySegment),
  committedAt: z.string(),
});
type RunMeta = z.infer<typeof runMetaSchema>;

export const DEFAULT_REDIS_PREFIX = 'kairos';
const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
// A server that accepts the connection but stops answering would otherwise hang the run forever.
const COMMAND_TIMEOUT_MS = 10_000;
// Retries are needed only when other writers keep changing the same keys between WATCH and EXEC.
const MAX_OPTIMISTIC_ATTEMPTS = 10;

// Takes the lock with SET NX PX, or extends it when `owner` already holds it, in one atomic step
// so a lock that expires between the two checks is never extended for the wrong owner.
const ACQUIRE_LOCK_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface RedisStateStoreOptions {
  /** First segment(s) of every key, `:`-separated; default `kairos`. */
  readonly prefix?: string;
}

export interface RedisConnectOptions extends RedisStateStoreOptions {
  /** How long to wait for the server before giving up; default 2000 ms. */
  readonly connectTimeoutMs?: number;
}

/**
 * Opens a connection that fails fast: one attempt, no reconnects, no command queued while
 * disconnected. A run is short and restartable, so losing Redis should stop it with a clear
 * StateError rather than leave it waiting; the run lock expires on its own.
 */
export async function connectRedisClient(url: string, options: { readonly connectTimeoutMs?: number } = {}): Promise<Redis> {
  const location = redactPassword(url);
  // ioredis reports why a connection failed only through 'error' events; connect() itself just
  // says "Connection is closed". Keeping the last one makes the message actionable, and having a
  // listener at all stops ioredis printing every error to stderr.
  let lastConnectionError: Error | undefined;
  let client: Redis | undefined;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    client.on('error', (err: Error) => {
      lastConnectionError = err;
    });
    await client.connect();
    return client;
  } catch (err) {
    // After a refused or timed-out connect the client has already ended; disconnect() then would
    // arm a 2 s timer waiting for a 'close' that never comes, keeping the process alive.
    if (client !== undefined && client.status !== 'end') client.disconnect();
    const reason = (lastConnectionError ?? asError(err)).message;
    throw new StateError(`cannot reach Redis at ${location}: ${reason} (is redis-server running? set --state or REDIS_URL)`);
  }
}

export class RedisStateStore implements StateStore {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #server: string;
  // WATCH state belongs to the connection, so two commits interleaving their WATCH…EXEC on the
  // shared client would void each other's guard; commits from this store therefore run one by one.
  #transactionTail: Promise<unknown> = Promise.resolve();

  static async connect(url: string, options: RedisConnectOptions = {}): Promise<RedisStateStore> {
    const prefix = validPrefix(options.prefix ?? DEFAULT_REDIS_PREFIX);
    const client = await connectRedisClient(url, options);
    return new RedisStateStore(client, { prefix });
  }

  /** Wraps a connected client; the store owns it from here on and quits it in close(). */
  constructor(client: Redis, options: RedisStateStoreOptions = {}) {
    this.#client = client;
    this.#prefix = validPrefix(options.prefix ?? DEFAULT_REDIS_PREFIX);
    this.#server = `Redis at ${client.options.host ?? '?'}:${client.options.port ?? '?'}`;
  }

  async loadBefore(portfolio: string, date: IsoDate): Promise<RunSnapshot | null> {
    requireSessionDate(date);
    const keys = this.#keys(portfolio);
    const found = await this.#redis(`reading ${keys.runs}`, () =>
      this.#client.zrevrangebyscore(keys.runs, `(${toEpochDay(date)}`, '-inf', 'LIMIT', 0, 1),
    );
    const before = validDates(found, keys.runs)[0];
    return before === undefined ? null : this.#loadSnapshot(keys, before);
  }

  async loadLatest(portfolio: string): Promise<RunSnapshot | null> {
    const keys = this.#keys(portfolio);
    const latest = await this.#latestDate(keys);
    return latest === undefined ? null : this.#loadSnapshot(keys, latest);
  }

  async listDates(portfolio: string): Promise<IsoDate[]> {
    const keys = this.#keys(portfolio);
    const dates = await this.#redis(`reading ${keys.runs}`, () => this.#client.zrange(keys.runs, 0, '-1'));
    return validDates(dates, keys.runs);
  }

  async commit(portfolio: string, snapshot: RunSnapshot): Promise<void> {
    const keys = this.#keys(portfolio);
    const valid = validSnapshotForCommit(portfolio, snapshot);
    await this.#oneTransactionAtATime(async () => {
      for (let attempt = 0; attempt < MAX_OPTIMISTIC_ATTEMPTS; attempt++) {
        if (await this.#tryCommit(keys, valid)) return;
      }
      throw new StateError(
        `could not commit ${portfolio} ${valid.date} to ${this.#server}: other writers changed its keys ${MAX_OPTIMISTIC_ATTEMPTS} times in a row`,
      );
    });
  }

  async acquireLock(portfolio: string, owner: string, ttlMs: number): Promise<boolean> {
    requireLockTtl(ttlMs);
    const keys = this.#keys(portfolio);
    const taken = await this.#redis(`taking lock ${keys.lock}`, () => this.#client.eval(ACQUIRE_LOCK_SCRIPT, 1, keys.lock, owner, String(ttlMs)));
    return taken === 1;
  }

  async releaseLock(portfolio: string, owner: string): Promise<void> {
    const keys = this.#keys(portfolio);
    await this.#redis(`releasing lock ${keys.lock}`, () => this.#client.eval(RELEASE_LOCK_SCRIPT, 1, keys.lock, owner));
  }

  async close(): Promise<void> {
    await this.#transactionTail;
    // QUIT lets queued replies arrive first; if the connection is already gone, just drop it.
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  #keys(portfolio: string): KeyLayout {
    requirePortfolioId(portfolio);
    return new KeyLayout(this.#prefix, portfolio);
  }

  async #latestDate(keys: KeyLayout): Promise<IsoDate | undefined> {
    const newest = await this.#redis(`reading ${keys.runs}`, () => this.#client.zrevrange(keys.runs, 0, 0));
    return validDates(newest, keys.runs)[0];
  }

  /**
   * Reads meta first to learn which keys make up the snapshot, then all of them (meta again
   * included) in one MGET, which Redis executes atomically. If meta changed in between, a commit
   * replaced the snapshot mid-read, so read again rather than mix two versions.
   */
  async #loadSnapshot(keys: KeyLayout, date: IsoDate): Promise<RunSnapshot> {
    const metaKey = keys.meta(date);
    for (let attempt = 0; attempt < MAX_OPTIMISTIC_ATTEMPTS; attempt++) {
      const metaJson = await this.#redis(`reading ${metaKey}`, () => this.#client.get(metaKey));
      if (metaJson === null) throw new StateError(`corrupt state in ${this.#server}: ${keys.runs} lists ${date} but ${metaKey} is missing`);
      const meta = parseStored(metaKey, metaJson, runMetaSchema);
      if (meta.date !== date) throw new StateError(`corrupt state at Redis key ${metaKey}: it holds the run of ${meta.date}`);

      const strategyKeys = meta.strategies.map((id) => keys.runStrategyState(date, id));
      const [metaAgain, holdingsJson, ...strategyJsons] = await this.#redis(`reading the snapshot of ${date} under ${metaKey}`, () =>
        this.#client.mget(metaKey, keys.holdings(date), ...strategyKeys),
      );
      if (metaAgain !== metaJson) continue;

      const strategies: Record<string, StrategyState> = {};
      for (const [index, id] of meta.strategies.entries()) {
        const key = keys.runStrategyState(date, id);
        strategies[id] = parseStored(key, requirePresent(key, strategyJsons[index], metaKey), strategyStateSchema);
      }
      const holdingsKey = keys.holdings(date);
      const holdings = parseStored(holdingsKey, requirePresent(holdingsKey, holdingsJson, metaKey), holdingsSchema);
      return { runId: meta.runId, date, strategies, holdings };
    }
    throw new StateError(`could not read ${metaKey} from ${this.#server}: it was rewritten ${MAX_OPTIMISTIC_ATTEMPTS} times while reading`);
  }

  /**
   * Writes the whole snapshot in one MULTI/EXEC guarded by WATCH on the keys that decide what
   * to delete and whether this date is the latest. Returns false if another writer touched them
   * (EXEC discarded everything), so the caller can re-read and retry.
   */
  async #tryCommit(keys: KeyLayout, snapshot: RunSnapshot): Promise<boolean> {
    const { date } = snapshot;
    const metaKey = keys.meta(date);
    try {
      await this.#redis(`watching ${keys.runs}`, () => this.#client.watch(keys.runs, metaKey));
      // Reading `runs` here also fails on a key of the wrong type. That matters: ZADD is the one
      // command in the transaction that could fail inside EXEC, and EXEC does not roll back the
      // commands that succeeded. WATCH covers the key changing type after this read.
      const [previousMetaJson, latest] = await Promise.all([
        this.#redis(`reading ${metaKey}`, () => this.#client.get(metaKey)),
        this.#latestDate(keys),
      ]);
      const previousStrategies = previousMetaJson === null ? [] : parseStored(metaKey, previousMetaJson, runMetaSchema).strategies;
      const becomesLatest = latest === undefined || date >= latest;
      const strategiesOfLatest = becomesLatest && latest !== undefined ? await this.#strategiesOfLatest(keys, latest, date, previousStrategies) : [];

      const strategyIds = Object.keys(snapshot.strategies).sort();
      const meta: RunMeta = { runId: snapshot.runId, date, strategies: strategyIds, committedAt: new Date().toISOString() };
      const transaction = this.#client.multi();
      transaction.set(metaKey, serialise(meta));
      transaction.set(keys.holdings(date), serialise(snapshot.holdings));
      for (const id of strategyIds) transaction.set(keys.runStrategyState(date, id), serialise(snapshot.strategies[id]));
      for (const id of withoutAny(previousStrategies, strategyIds)) transaction.del(keys.runStrategyState(date, id));
      transaction.zadd(keys.runs, toEpochDay(date), date);
      if (becomesLatest) {
        for (const id of strategyIds) transaction.set(keys.latestStrategyState(id), serialise(snapshot.strategies[id]));
        for (const id of withoutAny(strategiesOfLatest, strategyIds)) transaction.del(keys.latestStrategyState(id));
      }
      const replies = await this.#redis(`committing ${metaKey}`, () => transaction.exec());
      if (replies === null) return false;
      const failed = replies.find(([error]) => error !== null);
      if (failed !== undefined) {
        throw new StateError(`commit of ${metaKey} to ${this.#server} was only partly applied: ${asError(failed[0]).message}`);
      }
      return true;
    } catch (err) {
      // A WATCH left behind would abort the next, unrelated commit on this connection. If the
      // connection itself is broken there is nothing to clear and the original error matters.
      await this.#client.unwatch().catch(() => undefined);
      throw err;
    }
  }

  /** The strategy ids whose `strategies:{id}:state` keys currently exist (those of the latest run). */
  async #strategiesOfLatest(keys: KeyLayout, latest: IsoDate, date: IsoDate, strategiesOfDate: string[]): Promise<string[]> {
    if (latest === date) return strategiesOfDate;
    const latestMetaKey = keys.meta(latest);
    await this.#redis(`watching ${latestMetaKey}`, () => this.#client.watch(latestMetaKey));
    const latestMetaJson = await this.#redis(`reading ${latestMetaKey}`, () => this.#client.get(latestMetaKey));
    if (latestMetaJson === null) throw new StateError(`corrupt state in ${this.#server}: ${keys.runs} lists ${latest} but ${latestMetaKey} is missing`);
    return parseStored(latestMetaKey, latestMetaJson, runMetaSchema).strategies;
  }

  #oneTransactionAtATime<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#transactionTail.then(work);
    this.#transactionTail = turn.catch(() => undefined);
    return turn;
  }

  async #redis<T>(action: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      if (err instanceof StateError) throw err;
      throw new StateError(`${action} on ${this.#server} failed: ${asError(err).message}`);
    }
  }
}

function serialise(value: unknown): string {
  return stableStringify(value, 0);
}

function parseStored<T>(key: string, json: string, schema: z.ZodType<T>): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (err) {
    throw new StateError(`corrupt state at Redis key ${key}: not valid JSON (${asError(err).message})`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new StateError(`corrupt state at Redis key ${key}: ${describeIssues(result.error)}`);
  return result.data;
}

function requirePresent(key: string, json: string | null | undefined, metaKey: string): string {
  if (json === null || json === undefined) throw new StateError(`corrupt state: ${metaKey} lists Redis key ${key}, which is missing`);
  return json;
}

function validDates(members: string[], runsKey: string): IsoDate[] {
  const invalid = members.find((member) => !isIsoDate(member));
  if (invalid !== undefined) throw new StateError(`corrupt state at Redis key ${runsKey}: member ${JSON.stringify(invalid)} is not a YYYY-MM-DD date`);
  return members;
}

function validPrefix(prefix: string): string {
  if (!prefix.split(':').every(isKeySegment)) {
    throw new StateError(`invalid Redis key prefix ${JSON.stringify(prefix)}: use ":"-separated segments of letters, digits, "_", "." or "-"`);
  }
  return prefix;
}

function withoutAny(ids: readonly string[], excluded: readonly string[]): string[] {
  return ids.filter((id) => !excluded.includes(id));
}

/** The URL for messages and logs, without a password that may be embedded in it. */
function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
