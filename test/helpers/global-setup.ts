import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { freePort } from './free-port.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const STARTUP_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 5_000;
// Another process can take the free port between our probe and redis-server binding it.
const START_ATTEMPTS = 3;

/**
 * Gives every test file a Redis URL via inject('redisUrl'): REDIS_URL when set (tests then touch
 * only keys under their own prefixes), otherwise a private, non-persisting redis-server on a free
 * port that lives exactly as long as the test run.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const configured = process.env.REDIS_URL;
  if (configured !== undefined && configured !== '') {
    project.provide('redisUrl', configured);
    return;
  }
  const server = await startPrivateRedis();
  project.provide('redisUrl', server.url);
  return server.stop;
}

interface PrivateRedis {
  readonly url: string;
  readonly stop: () => Promise<void>;
}

const NOT_INSTALLED =
  'Redis tests need a Redis server, and redis-server is not installed. Install it (`apt-get install redis-server`, `brew install redis`) or set REDIS_URL=redis://host:port to use a running one.';

async function startPrivateRedis(): Promise<PrivateRedis> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kairos-test-redis-'));
  const failures: string[] = [];
  try {
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const port = await freePort();
      const url = `redis://127.0.0.1:${port}`;
      const started = await launchRedis(port, url, dataDir);
      if (typeof started === 'string') {
        failures.push(`port ${port}: ${started}`);
        continue;
      }
      // If vitest dies before teardown, do not leave a server behind.
      const killOnExit = (): void => void started.kill('SIGKILL');
      process.once('exit', killOnExit);
      return {
        url,
        stop: async () => {
          process.off('exit', killOnExit);
          await stopProcess(started);
          await rm(dataDir, { recursive: true, force: true });
        },
      };
    }
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  await rm(dataDir, { recursive: true, force: true });
  throw new Error(`could not start a private redis-server for the tests:\n${failures.join('\n')}`);
}

/** The running server, or why it did not come up (a reason worth retrying on another port). */
async function launchRedis(port: number, url: string, dataDir: string): Promise<ChildProcess | string> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dataDir], {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (err) => (spawnError = err));
  const failure = (): string | undefined => {
    if (spawnError !== undefined) return spawnError.message;
    if (child.exitCode !== null || child.signalCode !== null) return `redis-server exited (${child.exitCode ?? child.signalCode})`;
    return undefined;
  };
  const notReady = await waitForPing(url, failure);
  if (notReady === undefined) return child;
  await stopProcess(child);
  if (spawnError?.code === 'ENOENT') throw new Error(NOT_INSTALLED);
  return output === '' ? notReady : `${notReady}\n${output.trim()}`;
}

/** Undefined once the server answers PING, else why it never did. */
async function waitForPing(url: string, failure: () => string | undefined): Promise<string | undefined> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const failed = failure();
    if (failed !== undefined) return failed;
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, connectTimeout: 500 });
    client.on('error', () => undefined); // refused connections are expected until the server listens
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return undefined;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
  return `redis-server did not answer PING within ${STARTUP_TIMEOUT_MS} ms`;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
