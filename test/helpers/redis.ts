import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { freePort } from './free-port.js';

/** The server global-setup chose: REDIS_URL, or the run's private redis-server. */
export function redisUrlForTests(): string {
  return inject('redisUrl');
}

/**
 * A key prefix no other test, run or process uses, so tests can share a server (even a real one
 * from REDIS_URL) and delete exactly what they created.
 */
export function uniquePrefix(name: string): string {
  const readable = name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'test';
  return `kairos-test:${readable}:${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Every key under `prefix`, sorted; SCAN, not KEYS, so a big shared server is not blocked. */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*`, 'COUNT', 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return [...new Set(found)].sort();
}

/** Deletes the keys under `prefix` and nothing else (never FLUSHDB: the server may be shared). */
export async function deleteKeysUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length > 0) await client.del(...keys);
}

/** A Redis URL on a local port nothing listens on, for testing unreachable servers. */
export async function unreachableRedisUrl(): Promise<string> {
  return `redis://127.0.0.1:${await freePort()}`;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
