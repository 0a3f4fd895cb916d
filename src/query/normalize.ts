/**
 * Query text → (normalized text, fingerprint, command) with a real
 * PostgreSQL parser (libpg-query). Literals never survive: after
 * libpg-query's normalize (which keeps constants inside some utility
 * statements), every remaining constant token becomes a $n placeholder and
 * comments are dropped.
 */
import v8 from 'node:v8';
import { fingerprintSync, loadModule, normalizeSync, parseSync, scanSync } from 'libpg-query';

export interface NormalizedQuery {
  normalized: string;
  fingerprint: string;
  /** SELECT, INSERT, UPDATE, DELETE, MERGE, UTILITY (with the statement node). */
  command: string;
}

const LITERAL_TOKENS = new Set(['SCONST', 'USCONST', 'ICONST', 'FCONST', 'BCONST', 'XCONST']);
const COMMENT_TOKENS = new Set(['SQL_COMMENT', 'C_COMMENT']);

let ready: Promise<void> | null = null;

/**
 * libpg-query is WebAssembly: load it once before the first *Sync call.
 * Baseline (Liftoff) code only: the parser runs once per distinct query_id,
 * and V8's optimizing tier would spend ~1 s of CPU on background threads
 * recompiling the 1.7 MB module's hot functions, on the cores the database
 * uses (measured: 20 normalizations cost 1.36 s of process CPU with tier-up,
 * 0.16 s without; each call takes ~5 ms either way).
 */
export function initParser(): Promise<void> {
  if (!ready) {
    v8.setFlagsFromString('--liftoff-only');
    ready = loadModule();
  }
  return ready;
}

interface Token { start: number; end: number; tokenName: string; text: string }

// The scanner names bit-string, hex and Unicode-escape constants UNKNOWN.
const PREFIXED_STRING = /^(?:[bBxXeEnN]|[uU]&)'/;

function isLiteral(tok: Token): boolean {
  return LITERAL_TOKENS.has(tok.tokenName) || PREFIXED_STRING.test(tok.text);
}

/** Replaces every constant token with $n and removes comments. */
export function scrubLiterals(text: string): string {
  const tokens = (scanSync(text) as { tokens: Token[] }).tokens;
  let next = 1 + Math.max(0, ...Array.from(text.matchAll(/\$(\d+)/g), (m) => Number(m[1])));
  let out = '';
  let pos = 0;
  for (const tok of tokens) {
    const literal = isLiteral(tok);
    if (!literal && !COMMENT_TOKENS.has(tok.tokenName)) continue;
    out += text.slice(pos, tok.start) + (literal ? `$${next++}` : '');
    pos = tok.end;
  }
  return (out + text.slice(pos)).replace(/\s+/g, ' ').trim();
}

const COMMANDS: Record<string, string> = {
  SelectStmt: 'SELECT', InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE',
};

function commandOf(stmtNode: Record<string, unknown> | undefined): string {
  const kind = stmtNode ? Object.keys(stmtNode)[0] ?? 'Unknown' : 'Unknown';
  return COMMANDS[kind] ?? 'UTILITY';
}

interface ParsedStmt { stmt?: Record<string, unknown>; stmt_location?: number; stmt_len?: number }

/** The statements of a (possibly multi-statement) query string, as text. */
export function splitStatements(text: string): { text: string; command: string }[] {
  const stmts = (parseSync(text) as { stmts: ParsedStmt[] }).stmts;
  // stmt_location/stmt_len count bytes of the UTF-8 source.
  const bytes = Buffer.from(text, 'utf8');
  return stmts.map((s) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    return { text: bytes.subarray(start, end).toString('utf8').trim(), command: commandOf(s.stmt) };
  });
}

/**
 * Normalizes statement `index` of `source`; null when the text cannot be
 * parsed (e.g. truncated), so no raw text ever leaks.
 */
export function normalizeStatement(source: string, index = 0): NormalizedQuery | null {
  try {
    const stmts = splitStatements(source);
    const stmt = stmts[Math.min(index, stmts.length - 1)];
    if (!stmt) return null;
    return {
      normalized: scrubLiterals(normalizeSync(stmt.text)),
      fingerprint: fingerprintSync(stmt.text),
      command: stmt.command,
    };
  } catch {
    return null;
  }
}
