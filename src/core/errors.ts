/**
 * Every failure a user can cause maps to one exit code, so scripts can branch on it.
 * The table is documented in README.md ("Exit codes"); keep the two in step.
 */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 3,
  data: 4,
  blocked: 5,
  state: 6,
  locked: 7,
  output: 8,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class KairosError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line arguments (unknown flag, malformed date, date that is not a session). */
export class UsageError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Config file missing, malformed, with unknown or mistyped keys. */
export class ConfigError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.config);
  }
}

/** Input data at fault: missing table/column, malformed CSV, NaN/negative values, duplicates. */
export class DataError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.data);
  }
}

/** A CRITICAL pre-rebalance check failed: nothing was written. */
export class BlockedError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.blocked);
  }
}

/** The state store is unreachable or its contents are unusable. */
export class StateError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.state);
  }
}

/** Another run holds the portfolio's run lock. */
export class LockedError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.locked);
  }
}

/** An artifact could not be written (permissions, full disk); nothing partial was published. */
export class OutputError extends KairosError {
  constructor(message: string) {
    super(message, ExitCode.output);
  }
}
