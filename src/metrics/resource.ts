/**
 * The OpenTelemetry resource: which collector, on which host, watching which
 * PostgreSQL cluster. Attached to every OTLP export and served as
 * `target_info` on the Prometheus endpoint.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  ATTR_DB_SYSTEM_NAME, ATTR_SERVER_PORT, ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION,
  DB_SYSTEM_NAME_VALUE_POSTGRESQL,
} from '@opentelemetry/semantic-conventions';

export interface ResourceInputs {
  host: string;
  version: string;
  dataDir: string;
  port: number;
}

/** The namespace the semantic conventions give for generated service.instance.id UUIDs. */
const INSTANCE_NAMESPACE = '4d63009a-8d0f-11ee-aad7-4c796ed8e320';

/** RFC 9562 UUIDv5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function resourceAttributes(r: ResourceInputs): Record<string, string | number> {
  return {
    [ATTR_SERVICE_NAME]: 'pgscout',
    [ATTR_SERVICE_VERSION]: packageVersion(),
    // Stable across restarts of the collector for the same cluster, unique per cluster.
    [ATTR_SERVICE_INSTANCE_ID]: uuidV5(`${r.host}:${r.dataDir}:${r.port}`, INSTANCE_NAMESPACE),
    'host.name': r.host,
    [ATTR_DB_SYSTEM_NAME]: DB_SYSTEM_NAME_VALUE_POSTGRESQL,
    // Deprecated spelling of db.system.name, still what many backends key on.
    'db.system': 'postgresql',
    'postgresql.version': r.version,
    'postgresql.data_directory': r.dataDir,
    [ATTR_SERVER_PORT]: r.port,
    'process.pid': process.pid,
  };
}

export function pgscoutResource(r: ResourceInputs): Resource {
  return resourceFromAttributes(resourceAttributes(r));
}
