import { beforeAll, describe, expect, it } from 'vitest';
import { initParser, normalizeStatement, scrubLiterals, splitStatements } from '../../src/query/normalize.js';

beforeAll(initParser);

describe('normalizeStatement', () => {
  it('replaces constants with placeholders and fingerprints ignoring them', () => {
    const a = normalizeStatement("SELECT * FROM t WHERE a = 'secret' AND b IN (1, 2, 3)")!;
    const b = normalizeStatement("select * from t where a = 'other' and b in (7)")!;
    expect(a.normalized).toBe('SELECT * FROM t WHERE a = $1 AND b IN ($2, $3, $4)');
    expect(a.normalized).not.toContain('secret');
    expect(a.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.command).toBe('SELECT');
  });

  it('removes literals libpg-query keeps in utility statements, and comments', () => {
    const q = normalizeStatement("CREATE TABLE t AS SELECT 'abc' AS x, 42, 1.5, B'101', $$dollar$$, X'ff', U&'d' /* pw 'x' */ -- note 99")!;
    for (const lit of ['abc', '42', '1.5', "B'101'", 'dollar', "X'ff'", "U&'d'", 'pw', 'note', '99']) expect(q.normalized).not.toContain(lit);
    expect(q.command).toBe('UTILITY');
  });

  it('picks the statement of a multi-statement string by index', () => {
    const src = "SELECT 1; UPDATE t SET a = 'z' WHERE id = 5; SELECT 2";
    expect(splitStatements(src).map((s) => s.command)).toEqual(['SELECT', 'UPDATE', 'SELECT']);
    expect(normalizeStatement(src, 1)!.normalized).toBe('UPDATE t SET a = $1 WHERE id = $2');
  });

  it('returns null for text it cannot parse instead of leaking it', () => {
    expect(normalizeStatement("SELECT * FROM t WHERE a = 'trunc")).toBeNull();
  });

  it('scrubLiterals keeps existing placeholders and numbers new ones after them', () => {
    expect(scrubLiterals("SELECT $1, 'x', 3")).toBe('SELECT $1, $2, $3');
  });
});
