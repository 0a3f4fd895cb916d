/**
 * Minimal leveled logger writing to stderr, so stdout stays clean for
 * summaries and tables. Level from PGSCOUT_LOG (error|warn|info|debug).
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function envLevel(): LogLevel {
  const value = process.env.PGSCOUT_LOG;
  return value && value in ORDER ? (value as LogLevel) : 'warn';
}

let threshold: LogLevel = envLevel();

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

function emit(level: LogLevel, scope: string, message: string): void {
  if (ORDER[level] > ORDER[threshold]) return;
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} [${scope}] ${message}\n`);
}

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export function logger(scope: string): Logger {
  return {
    error: (m) => emit('error', scope, m),
    warn: (m) => emit('warn', scope, m),
    info: (m) => emit('info', scope, m),
    debug: (m) => emit('debug', scope, m),
  };
}
