/**
 * Typed errors. Every error that reaches the CLI is printed as one line
 * (`pgscout: <message>`), so messages say what is wrong and what to do.
 */
export class PgscoutError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad flag, config value or DSN. */
export class ConfigError extends PgscoutError {}

/** The kernel (or the target) lacks a capability we need; `capability` names it. */
export class NotSupportedError extends PgscoutError {
  constructor(readonly capability: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Missing privilege; `capability` names what to grant (CAP_BPF, CAP_PERFMON, root). */
export class PermissionError extends PgscoutError {
  constructor(readonly capability: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The PostgreSQL target is unreachable, not local, or of an unsupported version. */
export class TargetError extends PgscoutError {}

/** A map lookup found nothing. */
export class KeyNotFoundError extends PgscoutError {}

/** SIGINT/SIGTERM arrived before collection started (e.g. during --wait): nothing was collected, nothing is lost. */
export class StoppedBeforeStartError extends PgscoutError {
  constructor(readonly signal: string) {
    super(`${signal} while waiting for PostgreSQL: stopped before collecting anything`);
  }
}
