import { dirname, resolve } from 'node:path';
import type { Logger } from '../core/log.js';
import { loadConfig } from '../config/load.js';
import { KairosDatabase } from '../data/database.js';
import { openStateStore } from '../state/open-store.js';
import { loadStrategies, type LoadedStrategy } from '../engine/strategy-loader.js';
import type { KairosConfig } from '../config/schema.js';
import { createEngineContainer, resolveEngine, type EngineServices } from '../engine/container.js';

export interface EngineFlags {
  readonly config?: string;
  readonly state?: string;
  readonly db: string;
}

/**
 * Config, plugins, state store and database opened in that order (cheapest failure first), wired
 * by the container, handed to `work`, and closed again whatever happens.
 */
export async function withEngine<T>(flags: EngineFlags, log: Logger, work: (engine: EngineServices) => Promise<T>): Promise<T> {
  const { config, strategies } = await loadConfigWithStrategies(flags.config);
  const store = await openStateStore(flags.state ?? config.state);
  try {
    const db = await KairosDatabase.open(flags.db, { readOnly: true });
    try {
      return await work(resolveEngine(createEngineContainer({ config, log, store, db, strategies })));
    } finally {
      db.close();
    }
  } finally {
    await store.close();
  }
}

/** The config and its plugins, params validated; plugin paths resolve against the config's folder. */
export async function loadConfigWithStrategies(path: string | undefined): Promise<{ config: KairosConfig; strategies: LoadedStrategy[] }> {
  const config = await loadConfig(path);
  const strategies = await loadStrategies(config.strategies, path ? dirname(resolve(path)) : process.cwd());
  return { config, strategies };
}
