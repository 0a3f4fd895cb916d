/**
 * A throwaway self-signed server certificate for a test cluster with
 * `ssl = on`, owned by the user the cluster runs as (PostgreSQL refuses a
 * key others can read).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TlsFiles {
  dir: string;
  /** postgresql.conf settings that turn TLS on with these files. */
  settings: Record<string, string>;
}

export function selfSignedCert(owner = 'postgres'): TlsFiles {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgscout-tls-'));
  const cert = path.join(dir, 'server.crt');
  const key = path.join(dir, 'server.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const uid = Number(execFileSync('id', ['-u', owner]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', owner]).toString().trim());
  for (const p of [dir, cert, key]) fs.chownSync(p, uid, gid);
  fs.chmodSync(key, 0o600);
  return { dir, settings: { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key } };
}
