/**
 * Following the target through restarts: is its postmaster still there, and
 * waiting (bounded by the caller's stop flag) for one that answers again.
 */
import fs from 'node:fs';
import { discoverTarget, type Target } from '../pg/target.js';
import { logger } from '../util/log.js';
import { TargetError } from '../util/errors.js';

const log = logger('target');

/** How often a gone target is looked for, and how often a running one is checked. */
export const TARGET_POLL_MS = 250;

/** The postmaster process still runs (a zombie has exited). */
export function postmasterAlive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Discovers the target until it answers, or until `stopping()` (null then).
 * A server that answers but is not one pgscout can follow (another major
 * version after an upgrade) ends the wait with its error.
 */
export async function waitForTarget(conninfo: string, stopping: () => boolean, what: string): Promise<Target | null> {
  let said = false;
  while (!stopping()) {
    try {
      return await discoverTarget(conninfo);
    } catch (err) {
      if (err instanceof TargetError && !/cannot connect|starting up|shutting down|recovery/.test(err.message)) throw err;
      if (!said) log.warn(`${what}: ${(err as Error).message}`);
      said = true;
    }
    await new Promise((r) => setTimeout(r, TARGET_POLL_MS));
  }
  return null;
}
