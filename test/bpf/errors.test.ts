import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { bpfError } from '../../src/bpf/errors.js';
import { NotSupportedError, PermissionError } from '../../src/util/errors.js';

const { EACCES, EPERM, ENOENT, EBUSY } = os.constants.errno;

describe('bpfError', () => {
  it('EACCES as root is the verifier, not a capability', () => {
    const err = bpfError('load of x.bpf.o', EACCES);
    if (process.geteuid?.() === 0) {
      expect(err).not.toBeInstanceOf(PermissionError);
      expect(err.message).toMatch(/verifier rejected/);
    } else {
      expect(err).toBeInstanceOf(PermissionError);
    }
  });

  it('EPERM names the capabilities to grant', () => {
    const err = bpfError('load of x.bpf.o', EPERM);
    expect(err).toBeInstanceOf(PermissionError);
    expect(err.message).toMatch(/CAP_BPF/);
  });

  it('a missing feature is NotSupported only when the caller names the feature', () => {
    expect(bpfError('attach', ENOENT, 'tp_btf')).toBeInstanceOf(NotSupportedError);
    expect(bpfError('attach', ENOENT)).not.toBeInstanceOf(NotSupportedError);
    expect(bpfError('attach', EBUSY).message).toBe('attach failed with EBUSY');
  });
});
