// A dead manager's companions keep writing while they stop: the arbiter becomes the reader of
// their captured output. Only the manager held the read ends of those pipes (logs/hub.ts), so
// with it gone a companion whose stop handler prints anything ("stopping…") would get EPIPE and
// die of SIGPIPE before its cleanup ran. On Linux, opening /proc/PID/fd/N of a pipe end gives a
// new open file of the same pipe; opened O_RDONLY it is a reader again (pipe(7), proc(5)).
//
// The race: a write between the manager's death and the moment its pipes are opened again still
// finds no reader and gets EPIPE (SIGPIPE). The arbiter learns of the death from SIGCHLD, then
// reads /proc: about 10 ms from the SIGKILL to the pipes being open on a 2-core machine
// (test/e2e/manager-death-pipes.test.ts measures it). Only a reader held all along would close
// that window (the arbiter keeping a read end of every companion's pipes from its start on, at
// up to 2 fds per companion for sup's whole life); here it is only kept short: the pipes are
// opened first and checked after, and nothing is read before the checks.
import { constants, fstatSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { OwnedGroup } from "../manager/host.ts";
import { LineSplitter } from "../logs/lines.ts";
import { fdBudget, type FdBudget } from "../os/fds.ts";
import { writable } from "../os/libc.ts";
import { BoundedWriter } from "../os/log.ts";
import { descendants, procInfo, isRunning } from "../os/proc.ts";
import { closeQuietly, readPipe } from "../os/pipes.ts";

/** fds that must stay free: below this many the arbiter adopts no more pipes (their output is lost, as before) */
export const ADOPT_MIN_FREE_FDS = 32;
/** most bytes of adopted output waiting for a stdout that does not take them; beyond, lines are dropped (counted) */
export const ADOPT_BACKLOG_BYTES = 1024 * 1024;

const O_CLOEXEC = 0o2000000;
const decoder = new TextDecoder();

/** the arbiter's stdout for adopted lines: bounded and non-blocking, like the manager's console */
let out: BoundedWriter | null = null;
function stdout(): BoundedWriter {
  return (out ??= new BoundedWriter(1, ADOPT_BACKLOG_BYTES, writable, (n) => `[sup] ${n} lines of stopping companions dropped: sup's stdout was not being read\n`));
}

export interface AdoptedPipe {
  fd: number;
  inode: number;
  /** the companion's name (from the group's marker), else its process group */
  name: string;
}

export interface Adopted {
  pipes: AdoptedPipe[];
  /** pipes left unopened because fewer than ADOPT_MIN_FREE_FDS fds were free */
  skipped: number;
  /** pipes opened and closed again unread: another leftover reads them (a pipeline inside the companion) */
  foreign: number;
  /** wait until every pipe is at EOF (all writers gone), at most `maxMs`; then stop reading and close */
  finish(maxMs: number): Promise<void>;
}

/**
 * Open a new read end of every captured stdout/stderr pipe of `groups` (the dead manager's
 * companions) and copy what they say to sup's stdout as `name | line` until EOF. Only fds 1 and
 * 2 of each group's processes that are pipes, each pipe once (stderr may share stdout's); never
 * a pipe the arbiter holds itself (a companion with stdout = "inherit" writes to sup's own
 * stdout: reading it would loop), nor one that another leftover process reads (a pipeline).
 */
export function adoptPipes(groups: Iterable<OwnedGroup>, budget: FdBudget = fdBudget()): Adopted {
  const self = process.pid;
  // a /proc of another PID namespace (PID 1 of a container without its own /proc mount) names
  // other processes by our pids: open nothing then
  if (!procIsOurs()) return { pipes: [], skipped: 0, foreign: 0, finish: async () => {} };
  const byInode = new Map<number, AdoptedPipe>();
  const skipped = new Set<number>();
  const open = (pid: number, name: string) => {
    for (const n of [1, 2]) {
      const inode = pipeInode(`/proc/${pid}/fd/${n}`);
      if (inode === null || byInode.has(inode)) continue;
      if (budget.free() < ADOPT_MIN_FREE_FDS) {
        skipped.add(inode);
        continue;
      }
      let fd: number;
      try {
        // O_NONBLOCK: opening a pipe by path is a FIFO open, which would wait for a writer that just left
        fd = openSync(`/proc/${pid}/fd/${n}`, constants.O_RDONLY | constants.O_NONBLOCK | O_CLOEXEC);
      } catch {
        continue; // gone meanwhile, or not ours to open
      }
      budget.used();
      // the fd may have been replaced between readlink and open
      if (inodeOf(fd) !== inode) {
        closeQuietly(fd);
        continue;
      }
      byInode.set(inode, { fd, inode, name });
    }
  };
  const byGroup = new Map([...groups].map((g) => [g.pgid, g]));
  // first the main processes (pgid = pid, re-parented to us): the common case, and cheap
  for (const g of byGroup.values()) {
    const p = procInfo(g.pgid);
    if (isRunning(p) && p.pgid === g.pgid && p.ppid === self) open(g.pgid, nameOf(g));
  }
  // then the rest of each group, from a walk of our tree: a group whose main process is gone,
  // one whose main process writes into a pipeline (`exec > >(filter)`) whose end is captured
  const left = descendants([self])
    .map((pid) => procInfo(pid))
    .filter(isRunning);
  for (const p of left) {
    const g = byGroup.get(p.pgid);
    if (g) open(p.pid, nameOf(g));
  }
  // opened first, checked after (the race): nothing is read before these checks
  const drop = (inode: number) => {
    closeQuietly(byInode.get(inode)!.fd);
    byInode.delete(inode);
  };
  // the arbiter's own stdout/stderr (an "inherit" companion's): what it reads it would write back
  for (const inode of ownPipes(new Set([...byInode.values()].map((a) => a.fd)))) if (byInode.has(inode)) drop(inode);
  let foreign = 0;
  if (byInode.size) {
    for (const inode of readPipes(left.map((p) => p.pid), new Set(byInode.keys()))) {
      drop(inode);
      foreign++;
    }
  }
  const pipes = [...byInode.values()];
  const readers = pipes.map((a) => copy(a, (text, n) => stdout().write(text, n)));
  const all = Promise.all(readers.map((r) => r.done));
  return {
    pipes,
    skipped: skipped.size,
    foreign,
    async finish(maxMs: number) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([all.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), maxMs)))]);
      clearTimeout(timer);
      if (late) {
        // a writer outside our tree keeps a pipe open: stop reading it, never keep its fd
        for (const r of readers) r.abort();
        await all;
      }
    },
  };
}

/** read one adopted pipe until EOF, `name | line` per line; closes the fd at the end */
function copy(a: AdoptedPipe, write: (text: string, lines: number) => void): { done: Promise<void>; abort: () => void } {
  const splitter = new LineSplitter();
  const emit = (raw: Uint8Array[]) => {
    if (!raw.length) return;
    let text = "";
    for (const l of raw) text += `${a.name} | ${decoder.decode(l)}\n`;
    write(text, raw.length);
  };
  return readPipe(
    a.fd,
    // a copy: the splitter keeps views of a partial line, and Bun may reuse its buffer
    (chunk) => emit(splitter.push(Buffer.from(chunk))),
    () => {
      const rest = splitter.flush();
      if (rest) emit([rest]);
    },
  );
}

/** `<instance>/<name>/<run>` -> name; without a marker, the process group */
function nameOf(g: OwnedGroup): string {
  const parts = g.marker?.split("/");
  return parts && parts.length >= 3 ? parts.slice(1, -1).join("/") : String(g.pgid);
}

/** the inode of the pipe `link` (/proc/PID/fd/N) is, or null (not a pipe, gone) */
function pipeInode(link: string): number | null {
  try {
    const m = /^pipe:\[(\d+)\]$/.exec(readlinkSync(link));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function inodeOf(fd: number): number | null {
  try {
    return Number(fstatSync(fd).ino);
  } catch {
    return null;
  }
}

function procIsOurs(): boolean {
  try {
    return readlinkSync("/proc/self") === String(process.pid);
  } catch {
    return false;
  }
}

/** inodes of the pipes the arbiter has open itself (its stdout/stderr, its own capture), but the fds `except` */
function ownPipes(except: Set<number>): Set<number> {
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return out;
  }
  for (const n of fds) {
    if (except.has(Number(n))) continue;
    const inode = pipeInode(`/proc/self/fd/${n}`);
    if (inode !== null) out.add(inode);
  }
  return out;
}

/** which of `inodes` one of `pids` holds open for reading (O_RDONLY or O_RDWR, from fdinfo flags) */
function readPipes(pids: number[], inodes: Set<number>): Set<number> {
  const found = new Set<number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const n of fds) {
      const inode = pipeInode(`/proc/${pid}/fd/${n}`);
      if (inode === null || !inodes.has(inode) || found.has(inode)) continue;
      let flags: number;
      try {
        flags = parseInt(/^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${n}`, "utf8"))?.[1] ?? "1", 8);
      } catch {
        continue;
      }
      if ((flags & 3) !== constants.O_WRONLY) found.add(inode);
    }
  }
  return found;
}

