/** Turns libbpf/kernel errno values into pgscout's typed errors. */
import os from 'node:os';
import { NotSupportedError, PermissionError, PgscoutError } from '../util/errors.js';

export function errnoName(code: number): string {
  const entry = Object.entries(os.constants.errno).find(([, v]) => v === code);
  return entry ? entry[0] : `errno ${code}`;
}

/** `what` says what was attempted, e.g. "load statements.bpf.o". */
export function bpfError(what: string, code: number, feature?: string): PgscoutError {
  const name = errnoName(code);
  if (code === os.constants.errno.EACCES && process.geteuid?.() === 0) {
    // As root, EACCES from a load is the verifier's verdict, not a missing capability.
    return new PgscoutError(`${what} failed with ${name}: the kernel's verifier rejected a program (the libbpf log printed above says which instruction and why)`);
  }
  if (code === os.constants.errno.EPERM || code === os.constants.errno.EACCES) {
    return new PermissionError(
      'CAP_BPF+CAP_PERFMON (or root)',
      `${what} failed with ${name}: run pgscout as root or grant CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH`,
    );
  }
  if (feature && (code === os.constants.errno.ENOENT || code === os.constants.errno.EOPNOTSUPP ||
      code === os.constants.errno.EINVAL || code === os.constants.errno.ENOTSUP)) {
    return new NotSupportedError(feature, `${what} failed with ${name}: this kernel lacks ${feature}`);
  }
  return new PgscoutError(`${what} failed with ${name}`);
}

/** libbpf returns -errno from int functions. */
export function checkRet(ret: number, what: string, feature?: string): number {
  if (ret < 0) throw bpfError(what, -ret, feature);
  return ret;
}
