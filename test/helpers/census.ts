// Process census for tests: every live process whose environment carries a marker, read from
// /proc, so "nothing left behind" is asserted, not assumed.
import { readdirSync, readFileSync } from "node:fs";

export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  state: string;
  cmd: string;
}

/** a process with its start time (clock ticks since boot): `pid@start` names it even across pid reuse */
export interface TaggedProc extends Proc {
  start: number;
  /** the value of the tag variable (e.g. CHAOS_ROLE) in its environment, "" when unset */
  tag: string;
}

function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may contain spaces and parens: split after the last ")"; rest[0] is field 3 (state)
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

export function procStat(pid: number): Proc | null {
  const rest = statFields(pid);
  if (!rest) return null;
  return { pid, state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), cmd: cmdline(pid) };
}

/** procStat plus the start time (field 22 of /proc/PID/stat) */
export function procTagged(pid: number, tag = ""): TaggedProc | null {
  const rest = statFields(pid);
  if (!rest) return null;
  return { pid, state: rest[0]!, ppid: Number(rest[1]), pgid: Number(rest[2]), cmd: cmdline(pid), start: Number(rest[19]), tag };
}

/** `pid@start`: one process, never confused with a later one that reuses the pid */
export function identity(p: { pid: number; start: number }): string {
  return `${p.pid}@${p.start}`;
}

function pids(): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

function environ(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
  } catch {
    return null;
  }
}

/** live (non-zombie) processes whose environ has `SUP_TEST_MARK=<mark>` */
export function census(mark: string): Proc[] {
  return taggedCensus(mark).map(({ pid, ppid, pgid, state, cmd }) => ({ pid, ppid, pgid, state, cmd }));
}

/** census(mark) with start times and the value of `tagVar` from each process's environment */
export function taggedCensus(mark: string, tagVar = "CHAOS_ROLE"): TaggedProc[] {
  const needle = `SUP_TEST_MARK=${mark}`;
  const prefix = `${tagVar}=`;
  const out: TaggedProc[] = [];
  for (const pid of pids()) {
    const env = environ(pid);
    if (!env || !env.includes(needle)) continue;
    const tag = env.find((e) => e.startsWith(prefix))?.slice(prefix.length) ?? "";
    const p = procTagged(pid, tag);
    if (p && p.state !== "Z") out.push(p);
  }
  return out;
}

/**
 * Live processes of this mark grouped by the value of `tagVar` (companions get e.g.
 * `env = { CHAOS_ROLE = "tree" }`; their children inherit it). Processes without the variable
 * (sup itself) are left out.
 */
export function censusByTag(mark: string, tagVar = "CHAOS_ROLE"): Map<string, TaggedProc[]> {
  const out = new Map<string, TaggedProc[]>();
  for (const p of taggedCensus(mark, tagVar)) {
    if (!p.tag) continue;
    const list = out.get(p.tag) ?? [];
    list.push(p);
    out.set(p.tag, list);
  }
  return out;
}

/** every process (any owner, zombies included) whose parent is `ppid` */
export function childrenOf(ppid: number): Proc[] {
  const out: Proc[] = [];
  for (const pid of pids()) {
    const p = procStat(pid);
    if (p && p.ppid === ppid) out.push(p);
  }
  return out;
}

/**
 * pids of the children of `ppid` from /proc/PPID/task/TID/children (one small read per thread,
 * much faster than a scan of /proc); null where the kernel does not offer that file
 */
export function childPids(ppid: number): number[] | null {
  try {
    const out: number[] = [];
    for (const tid of readdirSync(`/proc/${ppid}/task`)) {
      for (const n of readFileSync(`/proc/${ppid}/task/${tid}/children`, "utf8").split(" ")) if (n.trim()) out.push(Number(n));
    }
    return out;
  } catch {
    return null;
  }
}

/** zombies (state Z) whose parent is `ppid`: exited children nobody reaped */
export function zombiesOf(ppid: number): Proc[] {
  return childrenOf(ppid).filter((p) => p.state === "Z");
}

/** resident memory of a process in kB (VmRSS of /proc/PID/status), null when it is gone */
export function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  const p = procStat(pid);
  return !!p && p.state !== "Z";
}

export function killAll(mark: string): void {
  for (const p of census(mark)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {}
  }
}

/** CPU time a process has used so far, in clock ticks (utime + stime of /proc/PID/stat), null when it is gone */
export function cpuTicks(pid: number): number | null {
  const rest = statFields(pid);
  // rest[0] is field 3: utime and stime are fields 14 and 15
  return rest ? Number(rest[11]) + Number(rest[12]) : null;
}
