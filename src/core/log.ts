import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Logs go to stderr so stdout stays the command's answer (dates, JSON) for scripts.
 * Pretty only when a person is watching; JSON lines otherwise.
 */
export function createLogger(level: string = process.env.KAIROS_LOG_LEVEL ?? 'info'): Logger {
  if (process.stderr.isTTY) {
    return pino({ level, transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss' } } });
  }
  return pino({ level }, pino.destination(2));
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
