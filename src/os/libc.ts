// The few libc calls Bun does not expose, through bun:ffi: parent-death signal, subreaper,
// signal mask, getppid, waitpid by pid, execve, resource limits, poll. Loaded lazily; every call degrades to a no-op
// (returning false) where libc cannot be opened, so sup still runs, with weaker guarantees.
import { dlopen, FFIType, ptr } from "bun:ffi";

/** the signals `sup run` handles: TERM INT QUIT HUP USR1 */
export const ARBITER_SIGNALS = [15, 2, 3, 1, 10];

const PR_SET_PDEATHSIG = 1;
const PR_SET_CHILD_SUBREAPER = 36;
const SIG_SETMASK = 2;
const WNOHANG = 1;

type Lib = ReturnType<typeof open>;
let lib: Lib | null | undefined;

function open() {
  return dlopen("libc.so.6", {
    prctl: { args: [FFIType.i32, FFIType.u64, FFIType.u64, FFIType.u64, FFIType.u64], returns: FFIType.i32 },
    getppid: { args: [], returns: FFIType.i32 },
    sigprocmask: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    waitpid: { args: [FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    prlimit64: { args: [FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
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
    fn = dlopen("libc.so.6", { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } }).symbols.execve as unknown as typeof fn;
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

/** RLIMIT_NOFILE, from <sys/resource.h> (Linux) */
export const RLIMIT_NOFILE = 7;
/** RLIM_INFINITY as a JS number: limits at or above 2^53 read as Infinity */
const INF = 2n ** 64n - 1n;

export interface Rlimit {
  soft: number;
  hard: number;
}

const toNum = (v: bigint) => (v === INF || v >= 2n ** 53n ? Infinity : Number(v));
const toBig = (v: number) => (v === Infinity ? INF : BigInt(Math.floor(v)));

/** getrlimit(2) of this process (prlimit64 with pid 0); null where libc is not reachable */
export function getRlimit(resource: number): Rlimit | null {
  const l = libc();
  if (!l) return null;
  const old = new BigUint64Array(2);
  if (l.prlimit64(0, resource, null, ptr(old)) !== 0) return null;
  return { soft: toNum(old[0]!), hard: toNum(old[1]!) };
}

/** setrlimit(2) of this process; false when the kernel refused (EPERM, EINVAL) or libc is missing */
export function setRlimit(resource: number, limit: Rlimit): boolean {
  const l = libc();
  if (!l) return false;
  const next = new BigUint64Array([toBig(limit.soft), toBig(limit.hard)]);
  return l.prlimit64(0, resource, ptr(next), null) === 0;
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
