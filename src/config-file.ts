/**
 * /etc/pgscout/pgscout.toml (or --config <file>): the collect flags as TOML
 * keys, `pg = "host=/var/run/postgresql"`, `statement-rows = "2000/s"`,
 * `exact = true`, `interval = "1s"`. A flat subset of TOML — keys, strings,
 * numbers, booleans, comments — which is all a flag set needs. Values become
 * the environment layer below PGSCOUT_* variables and flags, so every check
 * of a flag applies to them too.
 */
import fs from 'node:fs';
import { ConfigError } from './util/errors.js';

export const DEFAULT_CONFIG_FILE = '/etc/pgscout/pgscout.toml';

/** File key → PGSCOUT_* variable: the flag's name, upper case, dashes as underscores. */
const envName = (key: string) => `PGSCOUT_${key.toUpperCase().replace(/-/g, '_')}`;

/**
 * Reads a config file into PGSCOUT_* values. `keys` are the flags it may set
 * (collect's options); anything else is a ConfigError naming the line.
 */
export function readConfigFile(path: string, keys: readonly string[]): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the config file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): give a readable file with --config`);
  }
  const out: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = stripComment(raw).trim();
    if (line === '') return;
    const where = `${path} line ${i + 1}`;
    const m = /^([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.+)$/.exec(line);
    if (!m) throw new ConfigError(`${where}: expected key = value, got '${raw.trim()}'`);
    const key = m[1]!.replace(/_/g, '-');
    if (!keys.includes(key) || key === 'config') {
      throw new ConfigError(`${where}: unknown key '${m[1]}' (the keys are collect's flags: ${keys.filter((k) => k !== 'config').join(', ')})`);
    }
    out[envName(key)] = parseValue(m[2]!.trim(), where);
  });
  return out;
}

/** A '#' outside a string starts a comment. */
function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '#') {
      return line.slice(0, i);
    }
  }
  return line;
}

function parseValue(v: string, where: string): string {
  if (v.startsWith('"')) {
    try {
      const s = JSON.parse(v) as unknown;
      if (typeof s === 'string') return s;
    } catch {
      // reported below
    }
    throw new ConfigError(`${where}: a string must be one "double-quoted" value, got ${v}`);
  }
  if (v.startsWith("'")) {
    if (v.length >= 2 && v.endsWith("'") && !v.slice(1, -1).includes("'")) return v.slice(1, -1);
    throw new ConfigError(`${where}: a 'literal string' must end with a quote, got ${v}`);
  }
  if (v === 'true' || v === 'false') return v;
  if (/^[+-]?(\d[\d_]*)(\.\d+)?([eE][+-]?\d+)?$/.test(v)) return v.replace(/_/g, '');
  throw new ConfigError(`${where}: ${v} is not a string, number or boolean (quote strings: "1s")`);
}
