/**
 * The libbpf.so.1 functions pgscout calls, declared once for koffi.
 * Pointers are bigint (0n/null on failure); libbpf 1.x returns -errno or
 * NULL with errno set, which `check*` turn into typed errors.
 */
import koffi from 'koffi';
import { logger } from '../util/log.js';

const log = logger('libbpf');

const lib = koffi.load('libbpf.so.1');
const libc = koffi.load('libc.so.6');

/** struct bpf_uprobe_opts of libbpf 1.1 (sz must be exactly its size: 40). */
export const UprobeOpts = koffi.struct('bpf_uprobe_opts', {
  sz: 'size_t',
  ref_ctr_offset: 'size_t',
  bpf_cookie: 'uint64_t',
  retprobe: 'bool',
  func_name: 'const char *',
});

/** struct bpf_test_run_opts of libbpf 1.1 (sz: 80); only what BPF_PROG_RUN of a raw_tp program reads. */
export const TestRunOpts = koffi.struct('bpf_test_run_opts', {
  sz: 'size_t',
  data_in: 'void *',
  data_out: 'void *',
  data_size_in: 'uint32_t',
  data_size_out: 'uint32_t',
  ctx_in: 'void *',
  ctx_out: 'void *',
  ctx_size_in: 'uint32_t',
  ctx_size_out: 'uint32_t',
  retval: 'uint32_t',
  repeat: 'int',
  duration: 'uint32_t',
  flags: 'uint32_t',
  cpu: 'uint32_t',
  batch_size: 'uint32_t',
});

export const printCallback = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *args)');
export const ringbufCallback = koffi.proto('int ring_buffer_sample_fn(void *ctx, void *data, size_t size)');

export const fn = {
  set_print: lib.func('void *libbpf_set_print(libbpf_print_fn *fn)'),
  object_open_file: lib.func('void *bpf_object__open_file(const char *path, void *opts)'),
  object_load: lib.func('int bpf_object__load(void *obj)'),
  object_close: lib.func('void bpf_object__close(void *obj)'),
  object_btf: lib.func('void *bpf_object__btf(void *obj)'),
  find_map: lib.func('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
  find_program: lib.func('void *bpf_object__find_program_by_name(void *obj, const char *name)'),
  map_fd: lib.func('int bpf_map__fd(void *map)'),
  map_reuse_fd: lib.func('int bpf_map__reuse_fd(void *map, int fd)'),
  map_initial_value: lib.func('void *bpf_map__initial_value(void *map, _Out_ size_t *psize)'),
  map_set_max_entries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t max_entries)'),
  map_max_entries: lib.func('uint32_t bpf_map__max_entries(void *map)'),
  map_key_size: lib.func('uint32_t bpf_map__key_size(void *map)'),
  map_value_size: lib.func('uint32_t bpf_map__value_size(void *map)'),
  program_set_autoload: lib.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
  program_set_expected_attach_type: lib.func('int bpf_program__set_expected_attach_type(void *prog, int type)'),
  program_attach: lib.func('void *bpf_program__attach(void *prog)'),
  program_fd: lib.func('int bpf_program__fd(void *prog)'),
  prog_test_run: lib.func('int bpf_prog_test_run_opts(int prog_fd, _Inout_ bpf_test_run_opts *opts)'),
  program_attach_usdt: lib.func(
    'void *bpf_program__attach_usdt(void *prog, int pid, const char *binary_path, const char *usdt_provider, const char *usdt_name, void *opts)',
  ),
  program_attach_uprobe_opts: lib.func(
    'void *bpf_program__attach_uprobe_opts(void *prog, int pid, const char *binary_path, size_t func_offset, bpf_uprobe_opts *opts)',
  ),
  link_destroy: lib.func('int bpf_link__destroy(void *link)'),
  map_update_elem: lib.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
  map_delete_elem: lib.func('int bpf_map_delete_elem(int fd, void *key)'),
  map_lookup_elem: lib.func('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
  map_lookup_and_delete_batch: lib.func(
    'int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
  ),
  map_lookup_batch: lib.func(
    'int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)',
  ),
  map_get_next_key: lib.func('int bpf_map_get_next_key(int fd, void *key, void *next_key)'),
  ring_buffer_new: lib.func('void *ring_buffer__new(int map_fd, ring_buffer_sample_fn *sample_cb, void *ctx, void *opts)'),
  ring_buffer_consume: lib.func('int ring_buffer__consume(void *rb)'),
  ring_buffer_free: lib.func('void ring_buffer__free(void *rb)'),
  btf_load_vmlinux: lib.func('void *btf__load_vmlinux_btf(void)'),
  btf_free: lib.func('void btf__free(void *btf)'),
  btf_find_by_name_kind: lib.func('int btf__find_by_name_kind(void *btf, const char *name, uint32_t kind)'),
  btf_type_by_id: lib.func('void *btf__type_by_id(void *btf, uint32_t id)'),
  btf_name_by_offset: lib.func('const char *btf__name_by_offset(void *btf, uint32_t offset)'),
  probe_bpf_prog_type: lib.func('int libbpf_probe_bpf_prog_type(int prog_type, void *opts)'),
  probe_bpf_map_type: lib.func('int libbpf_probe_bpf_map_type(int map_type, void *opts)'),
  num_possible_cpus: lib.func('int libbpf_num_possible_cpus(void)'),
  vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *args)'),
  syscall: libc.func('long syscall(long number, ...)'),
  close: libc.func('int close(int fd)'),
  ioctl: libc.func('int ioctl(int fd, unsigned long request, ...)'),
};

export function errno(): number {
  return koffi.errno();
}

let printInstalled = false;

const LOG_HEAD = 4096;
const LOG_TAIL = 32768;

/** A long message's first and last lines, with how much was left out between them. */
export function headAndTail(text: string): string {
  if (text.length <= LOG_HEAD + LOG_TAIL) return text;
  const head = text.slice(0, text.lastIndexOf('\n', LOG_HEAD));
  const tail = text.slice(text.indexOf('\n', text.length - LOG_TAIL) + 1);
  return `${head}\n… (${text.length - head.length - tail.length} characters of the log left out) …\n${tail}`;
}

/** Routes libbpf's own messages (verifier logs, attach failures) to our logger. */
export function installPrintHandler(): void {
  if (printInstalled) return;
  printInstalled = true;
  // Verifier logs run to megabytes and the reason is at their end: formatted whole, then cut to
  // their head and tail (a va_list is read once, so there is no second try with a bigger buffer).
  const buf = Buffer.alloc(1 << 23);
  const cb = koffi.register((level: number, fmt: string, args: bigint) => {
    const n = fn.vsnprintf(buf, buf.length, fmt, args) as number;
    const text = headAndTail(buf.subarray(0, Math.max(0, Math.min(n, buf.length - 1))).toString('utf8').trimEnd());
    if (!text) return 0;
    // LIBBPF_WARN = 0, LIBBPF_INFO = 1, LIBBPF_DEBUG = 2
    if (level === 0) log.warn(text);
    else if (level === 1) log.info(text);
    else log.debug(text);
    return 0;
  }, koffi.pointer(printCallback));
  fn.set_print(cb);
}
