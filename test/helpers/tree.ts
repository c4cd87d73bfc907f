// Process trees seen from outside sup (for the containment tests): who carries a role, which
// processes name a number on their command line, cgroup v2 membership, ignored signals and
// resident memory, all read from /proc and /sys, never from sup's own view.
import { mkdirSync, readFileSync, readdirSync, rmdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { censusByTag, procTagged, rssKb, type TaggedProc } from "./census.ts";

/** the environment variable the containment tests give each companion (its role) */
export const ROLE = "CT_ROLE";

/** live processes of the test `mark` by role (processes without a role, sup itself, left out) */
export function roles(mark: string): Map<string, TaggedProc[]> {
  return censusByTag(mark, ROLE);
}

/** live processes whose argv has one of `words` as a whole argument (found by command line only) */
export function withArgs(words: (string | number)[]): TaggedProc[] {
  const want = new Set(words.map(String));
  const out: TaggedProc[] = [];
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${n}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    // a shell's argument may hold a whole command ("sleep 123"): look at its words too
    if (!argv.some((a) => want.has(a) || a.split(/[\s"';&()]+/).some((w) => want.has(w)))) continue;
    const p = procTagged(Number(n));
    if (p && p.state !== "Z") out.push(p);
  }
  return out;
}

/** `pid@start` of a process that is still the same live process */
export function stillAlive(id: string): boolean {
  const [pid, start] = id.split("@").map(Number);
  const p = procTagged(pid!);
  return !!p && p.state !== "Z" && p.start === start;
}

/** the cgroup v2 path of a process (the "0::" line of /proc/PID/cgroup), null when gone or none */
export function cgroupOf(pid: number | "self"): string | null {
  try {
    return /^0::(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** the folder of the cgroup v2 path `rel` (as /proc/PID/cgroup names it) on this machine */
export function cgroupDir(rel: string): string | null {
  let mounts: string;
  try {
    mounts = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return null;
  }
  for (const line of mounts.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right?.startsWith("cgroup2 ")) continue;
    const f = left.split(" ");
    const root = f[3]!;
    const at = f[4]!.replace(/\\040/g, " ");
    if (root === "/") return join(at, rel);
    if (rel === root || rel.startsWith(`${root}/`)) return join(at, rel.slice(root.length));
  }
  return null;
}

/**
 * May a process started like this one create a cgroup v2 folder in its own cgroup (what sup
 * needs for cgroup containment)? Tried for real: a folder is made and removed.
 */
export function cgroupUsable(): boolean {
  const own = cgroupOf("self");
  const dir = own === null ? null : cgroupDir(own);
  if (!dir) return false;
  const probe = join(dir, `sup-test-probe.${process.pid}`);
  try {
    mkdirSync(probe);
  } catch {
    return false;
  }
  try {
    return existsSync(join(probe, "cgroup.procs"));
  } finally {
    try {
      rmdirSync(probe);
    } catch {}
  }
}

/** does `pid` ignore signal number `sig` (SigIgn of /proc/PID/status)? */
export function ignores(pid: number, sig: number): boolean {
  try {
    const m = /^SigIgn:\s+([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return !!m && (BigInt(`0x${m[1]}`) & (1n << BigInt(sig - 1))) !== 0n;
  } catch {
    return false;
  }
}

/** resident memory summed over `pids` in bytes (VmRSS; gone processes count 0) */
export function rssBytes(pids: number[]): number {
  return pids.reduce((s, p) => s + (rssKb(p) ?? 0) * 1024, 0);
}
