/** Checks that must pass before any BPF object is loaded. */
import fs from 'node:fs';
import { NotSupportedError, PermissionError } from '../util/errors.js';

const CAP_PERFMON = 38;
const CAP_BPF = 39;

export function effectiveCaps(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function hasBpfPrivileges(): boolean {
  if (process.getuid?.() === 0) return true;
  const caps = effectiveCaps();
  return ((caps >> BigInt(CAP_BPF)) & 1n) === 1n && ((caps >> BigInt(CAP_PERFMON)) & 1n) === 1n;
}

/** Overridable so tests can show the missing-BTF error on a kernel that has BTF. */
export const BTF_PATH = process.env.PGSCOUT_BTF_PATH || '/sys/kernel/btf/vmlinux';

export function requireBpfReady(): void {
  if (!hasBpfPrivileges()) {
    throw new PermissionError('CAP_BPF+CAP_PERFMON', 'pgscout needs root, or CAP_BPF + CAP_PERFMON + CAP_SYS_PTRACE + CAP_DAC_READ_SEARCH (packaging/pgscout.service), to load eBPF programs: run it with sudo or as that service');
  }
  if (!fs.existsSync(BTF_PATH)) {
    throw new NotSupportedError('BTF', `${BTF_PATH} is missing: this kernel was built without CONFIG_DEBUG_INFO_BTF, which pgscout needs (use a distro kernel ≥ 5.8)`);
  }
}
