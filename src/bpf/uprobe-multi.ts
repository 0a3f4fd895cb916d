/**
 * uprobe_multi links: one link attaches one program at many offsets of a
 * binary (entry or return), and closing it removes every site after a single
 * wait for the kernel, where a link per site waits ~0.1 s each. libbpf 1.1
 * has no API for them, so the link is created with the raw
 * bpf(BPF_LINK_CREATE) syscall; the program must have been loaded with the
 * attach type BPF_TRACE_UPROBE_MULTI (BpfObject.setExpectedAttachType).
 */
import fs from 'node:fs';
import koffi from 'koffi';
import { errno, fn } from './libbpf.js';
import { bpfError } from './errors.js';
import { PgscoutError } from '../util/errors.js';

const SYS_BPF = 321;               // x86_64
const BPF_LINK_CREATE = 28;
export const BPF_TRACE_UPROBE_MULTI = 48;
const BPF_F_UPROBE_MULTI_RETURN = 1;
/**
 * Byte offsets in union bpf_attr as BPF_LINK_CREATE reads it for uprobe_multi
 * (include/uapi/linux/bpf.h; test/bpf/uprobe-multi-abi.test.ts checks them
 * against the kernel's BTF).
 */
export const UPROBE_MULTI_ATTR = { prog_fd: 0, attach_type: 8, path: 16, offsets: 24, cnt: 48, flags: 52, pid: 56 } as const;
const AT = UPROBE_MULTI_ATTR;
const ATTR_SIZE = 64;

export interface UprobeMultiOptions {
  retprobe?: boolean;
  /** -1 or absent: every process running the binary. */
  pid?: number;
}

/** The link's fd: closing it detaches every site. */
export function createUprobeMultiLink(progFd: number, binary: string, offsets: readonly number[], opts: UprobeMultiOptions = {}): number {
  if (offsets.length === 0) throw new Error('uprobe_multi link without offsets');
  // The kernel says ENOENT for a missing path as for a missing feature: tell them apart here.
  if (!fs.existsSync(binary)) throw new PgscoutError(`uprobe_multi attach: ${binary} does not exist`);
  const path = Buffer.from(`${binary}\0`);
  const offs = Buffer.alloc(8 * offsets.length);
  offsets.forEach((o, i) => offs.writeBigUInt64LE(BigInt(o), 8 * i));
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(progFd, AT.prog_fd);
  attr.writeUInt32LE(BPF_TRACE_UPROBE_MULTI, AT.attach_type);
  attr.writeBigUInt64LE(koffi.address(path) as bigint, AT.path);
  attr.writeBigUInt64LE(koffi.address(offs) as bigint, AT.offsets);
  attr.writeUInt32LE(offsets.length, AT.cnt);
  attr.writeUInt32LE(opts.retprobe ? BPF_F_UPROBE_MULTI_RETURN : 0, AT.flags);
  attr.writeUInt32LE(opts.pid === undefined || opts.pid < 0 ? 0 : opts.pid, AT.pid);
  const fd = Number(fn.syscall(SYS_BPF, 'int', BPF_LINK_CREATE, 'void *', attr, 'unsigned int', ATTR_SIZE));
  if (fd < 0) {
    throw bpfError(`uprobe_multi attach of ${offsets.length} ${opts.retprobe ? 'return ' : ''}site(s) in ${binary}`, errno(), 'uprobe_multi links');
  }
  return fd;
}
