// The few libc calls Bun does not expose, through bun:ffi: parent-death signal, subreaper,
// signal mask and dispositions, getppid, waitpid by pid, execve, resource limits, poll, nice,
// groups and ids (for a companion's exec trampoline), errno. Loaded lazily; every call degrades
// to a no-op (returning false) where libc cannot be opened, so sup still runs, with weaker
// guarantees.
import { dlopen, FFIType, ptr, read, type FFIFunction } from "bun:ffi";

/** the signals `sup run` handles: TERM INT QUIT HUP USR1 */
export const ARBITER_SIGNALS = [15, 2, 3, 1, 10];

const PR_SET_PDEATHSIG = 1;
const PR_SET_CHILD_SUBREAPER = 36;
const SIG_SETMASK = 2;
const WNOHANG = 1;

type Lib = ReturnType<typeof open>;
let lib: Lib | null | undefined;

/** libc's names, glibc first, then musl (Alpine; Debian's musl package has only the loader) */
const LIBC_NAMES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "/lib/ld-musl-x86_64.so.1", "/lib/ld-musl-aarch64.so.1"];

/** dlopen the first of LIBC_NAMES that opens; throws the first error when none does */
function dlopenLibc<Fns extends Record<string, FFIFunction>>(symbols: Fns) {
  let first: unknown;
  for (const name of LIBC_NAMES) {
    try {
      return dlopen(name, symbols);
    } catch (e) {
      first ??= e;
    }
  }
  throw first;
}

function open() {
  // prlimit, not prlimit64: musl >= 1.2.4 no longer resolves the LFS64 names through dlsym
  return dlopenLibc({
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    getppid: { args: [], returns: FFIType.i32 },
    sigprocmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    prlimit: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    getpriority: { args: [FFIType.i32, FFIType.u32], returns: FFIType.i32 },
    setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
    setgroups: { args: [FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
    setresgid: { args: [FFIType.u32, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
    setresuid: { args: [FFIType.u32, FFIType.u32, FFIType.u32], returns: FFIType.i32 },
    signal: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.ptr },
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    bind: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    recv: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i64 },
    sendto: { args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i64 },
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.u64], returns: FFIType.i32 },
    getpid: { args: [], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    clock_gettime: { args: [FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

function libc(): Lib | null {
  if (lib === undefined) {
    try {
      lib = open();
    } catch {
      lib = null;
    }
  }
  return lib;
}

/** deliver `signal` to this process when its parent thread dies */
export function setParentDeathSignal(signal: number): boolean {
  const l = libc();
  return !!l && l.prctl(PR_SET_PDEATHSIG, signal, 0, 0, 0) === 0;
}

/**
 * Set this process's name (comm, what ps/top show, at most 15 bytes): the manager runs from
 * /proc/self/exe and would otherwise be named "exe". prctl(2) PR_SET_NAME.
 */
export function setProcessName(name: string): boolean {
  const l = libc();
  if (!l) return false;
  const buf = Buffer.from(name.slice(0, 15) + "\0");
  return l.prctl(15, BigInt(ptr(buf)), 0, 0, 0) === 0;
}

/** orphans below this process re-parent to it instead of to PID 1 */
export function setChildSubreaper(): boolean {
  const l = libc();
  return !!l && l.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) === 0;
}

export function getppid(): number {
  const l = libc();
  return l ? l.getppid() : process.ppid;
}

/** unblock every signal (children inherit the mask) */
export function clearSignalMask(): boolean {
  const l = libc();
  if (!l) return false;
  const empty = new Uint8Array(128); // sigset_t, all zero
  return l.sigprocmask(SIG_SETMASK, ptr(empty), null) === 0;
}

/** block (or unblock) signals for the calling thread; a blocked signal stays pending, and the mask survives execve */
export function blockSignals(signals: number[], block: boolean): boolean {
  const l = libc();
  if (!l) return false;
  const set = new Uint8Array(128);
  for (const n of signals) set[(n - 1) >> 3]! |= 1 << ((n - 1) & 7);
  return l.sigprocmask(block ? 0 : 1, ptr(set), null) === 0; // SIG_BLOCK = 0, SIG_UNBLOCK = 1
}

/** reap one exited child by pid without blocking; returns the pid reaped, 0 if still alive, -1 on error */
export function reap(pid: number): number {
  const l = libc();
  if (!l) return -1;
  const status = new Int32Array(1);
  return l.waitpid(pid, ptr(status), WNOHANG);
}

/**
 * Replace this process image (same pid) with `argv`, under `env`. Returns only on failure
 * (false); the caller then simply goes on as it is.
 */
export function execve(path: string, argv: string[], env: Record<string, string>): boolean {
  let fn: (p: number, a: number, e: number) => number;
  try {
    fn = dlopenLibc({ execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } }).symbols.execve as unknown as typeof fn;
  } catch {
    return false;
  }
  const keep: Buffer[] = [];
  const cstr = (s: string) => {
    const b = Buffer.from(s + "\0");
    keep.push(b);
    return b;
  };
  const array = (items: string[]) => {
    const arr = new BigUint64Array(items.length + 1);
    items.forEach((s, i) => (arr[i] = BigInt(ptr(cstr(s)))));
    return arr;
  };
  const argvArr = array(argv);
  const envArr = array(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  fn(ptr(cstr(path)), ptr(argvArr), ptr(envArr));
  return false; // only reached when execve failed
}

/** the resources of <sys/resource.h> (Linux) that sup reads or companions may limit */
export const RLIMIT = { cpu: 0, stack: 3, core: 4, nproc: 6, nofile: 7, memlock: 8, as: 9 } as const;
/** RLIM_INFINITY as a JS number: limits at or above 2^53 read as Infinity */
const INF = 2n ** 64n - 1n;

export interface Rlimit {
  soft: number;
  hard: number;
}

const toNum = (v: bigint) => (v === INF || v >= 2n ** 53n ? Infinity : Number(v));
const toBig = (v: number) => (v === Infinity ? INF : BigInt(Math.floor(v)));

/** getrlimit(2) of this process (prlimit with pid 0); null where libc is not reachable */
export function getRlimit(resource: number): Rlimit | null {
  const l = libc();
  if (!l) return null;
  const old = new BigUint64Array(2);
  if (l.prlimit(0, resource, null, ptr(old)) !== 0) return null;
  return { soft: toNum(old[0]!), hard: toNum(old[1]!) };
}

/** setrlimit(2) of this process; false when the kernel refused (EPERM, EINVAL) or libc is missing */
export function setRlimit(resource: number, limit: Rlimit): boolean {
  const l = libc();
  if (!l) return false;
  const next = new BigUint64Array([toBig(limit.soft), toBig(limit.hard)]);
  return l.prlimit(0, resource, ptr(next), null) === 0;
}

const POLLOUT = 4;
/**
 * Can `fd` take a write now without blocking? poll(2) with a zero timeout. For a pipe, POLLOUT
 * means at least one page is free, so a write of at most PIPE_BUF (4096) bytes completes at
 * once (pipe(7)). Returns true where poll is not reachable (then writes may block).
 */
export function writable(fd: number): boolean {
  const l = libc();
  if (!l) return true;
  const pfd = new Int32Array([fd, POLLOUT]); // struct pollfd { int fd; short events; short revents; }
  const n = l.poll(ptr(pfd), 1, 0);
  if (n <= 0) return n < 0; // 0: not writable; -1: let the write report the error
  return true; // POLLOUT, or POLLERR/POLLHUP: the write will say which
}


const ERRNO_NAMES: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 22: "EINVAL" };
/** errno of the last failed libc call on this thread, as a name where it is a common one ("EPERM") */
export function lastError(): string {
  const l = libc();
  const at = l?.__errno_location();
  if (!at) return "error";
  const n = read.i32(at, 0);
  return ERRNO_NAMES[n] ?? `errno ${n}`;
}

/** the nice value of the calling thread (Linux keeps one per thread; a child inherits its parent thread's) */
export function getNice(): number | null {
  const l = libc();
  return l ? l.getpriority(0, 0) : null; // PRIO_PROCESS, who = 0: this thread; cannot fail
}

/** setpriority(2) of the calling thread; lowering it (a higher priority) needs root */
export function setNice(nice: number): boolean {
  const l = libc();
  return !!l && l.setpriority(0, 0, nice) === 0;
}

/** setgroups(2): the supplementary groups of this process (root only) */
export function setGroups(gids: number[]): boolean {
  const l = libc();
  if (!l) return false;
  const list = new Uint32Array(gids.length || 1);
  list.set(gids);
  return l.setgroups(gids.length, ptr(list)) === 0;
}

/** real, effective and saved ids at once (setresgid / setresuid): no way back to root after this */
export function setIds(uid: number | undefined, gid: number | undefined): boolean {
  const l = libc();
  if (!l) return false;
  if (gid !== undefined && l.setresgid(gid, gid, gid) !== 0) return false;
  if (uid !== undefined && l.setresuid(uid, uid, uid) !== 0) return false;
  return true;
}

/**
 * Default disposition for every signal that may be changed (SIG_IGN survives execve; Bun
 * ignores SIGPIPE and SIGXFSZ for itself).
 */
export function defaultSignals(): boolean {
  const l = libc();
  if (!l) return false;
  for (let n = 1; n <= 64; n++) if (n !== 9 && n !== 19 && n !== 32 && n !== 33) l.signal(n, null); // SIG_DFL = 0
  return true;
}

const O_CLOEXEC = 0o2000000;
/**
 * A real pipe (pipe(2), both ends close-on-exec): [read end, write end]. Bun's `stdout: "pipe"`
 * gives a socketpair instead, where `/dev/stdout` fails (ENXIO). Null where libc is missing or
 * no fd is left (EMFILE).
 */
export function pipe(): [number, number] | null {
  const l = libc();
  if (!l) return null;
  const fds = new Int32Array(2);
  return l.pipe2(ptr(fds), O_CLOEXEC) === 0 ? [fds[0]!, fds[1]!] : null;
}

// ---------- Unix datagram sockets (sd_notify, man 3 sd_notify; unix(7))

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const F_GETFL = 3;
const F_SETFL = 4;
const F_SETOWN = 8;
const F_SETSIG = 10;
const O_ASYNC = 0o20000;
const MSG_NOSIGNAL = 0x4000;

/** sockaddr_un for `path` (a leading "@" is the abstract namespace); null when it does not fit 108 bytes */
function sockaddr(path: string): { addr: Uint8Array; len: number } | null {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length === 0 || bytes.length > 107) return null;
  const addr = new Uint8Array(110);
  addr[0] = AF_UNIX; // sa_family_t, little-endian u16
  addr.set(bytes, 2);
  if (bytes[0] === 0x40) addr[2] = 0; // "@name": abstract, no trailing NUL counted
  return { addr, len: 2 + bytes.length + (bytes[0] === 0x40 ? 0 : 1) };
}

/**
 * A non-blocking, close-on-exec Unix datagram socket bound to `path` whose every arrival raises
 * `signal` in this process (fcntl(2) F_SETOWN + F_SETSIG + O_ASYNC): datagrams keep their
 * boundaries (a stream reader would run them together), and nothing polls while none comes.
 * Returns the fd, or null (lastError() says why).
 */
export function bindDatagram(path: string, signal: number): number | null {
  const l = libc();
  const sa = sockaddr(path);
  if (!l || !sa) return null;
  const fd = l.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) return null;
  const ok =
    l.bind(fd, ptr(sa.addr), sa.len) === 0 &&
    l.fcntl(fd, F_SETOWN, l.getpid()) === 0 &&
    l.fcntl(fd, F_SETSIG, signal) === 0 &&
    l.fcntl(fd, F_SETFL, l.fcntl(fd, F_GETFL, 0) | O_ASYNC) === 0;
  if (!ok) {
    l.close(fd);
    return null;
  }
  return fd;
}

/** one datagram from non-blocking `fd` into `buf`: its length, or -1 when none is waiting */
export function recvDatagram(fd: number, buf: Uint8Array): number {
  const l = libc();
  if (!l) return -1;
  return Number(l.recv(fd, ptr(buf), buf.length, 0));
}

/** send `text` as one datagram to the Unix socket at `path` ("@x": abstract); false when it cannot */
export function sendDatagram(path: string, text: string): boolean {
  const l = libc();
  const sa = sockaddr(path);
  if (!l || !sa) return false;
  const fd = l.socket(AF_UNIX, SOCK_DGRAM | O_CLOEXEC, 0);
  if (fd < 0) return false;
  const data = new TextEncoder().encode(text);
  const sent = Number(l.sendto(fd, ptr(data), data.length, MSG_NOSIGNAL, ptr(sa.addr), sa.len));
  l.close(fd);
  return sent === data.length;
}

/** CLOCK_MONOTONIC in µs (clock_gettime(2)), as sd_notify's MONOTONIC_USEC wants it; null without libc */
export function monotonicUsec(): bigint | null {
  const l = libc();
  if (!l) return null;
  const ts = new BigInt64Array(2); // struct timespec: tv_sec, tv_nsec (64-bit Linux)
  if (l.clock_gettime(1, ptr(ts)) !== 0) return null; // CLOCK_MONOTONIC = 1
  return ts[0]! * 1_000_000n + ts[1]! / 1000n;
}
