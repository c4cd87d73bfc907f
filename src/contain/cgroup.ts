// cgroup v2 for containment: find a folder of the unified hierarchy this process may create
// cgroups in, and the few files sup uses (cgroup.procs, cgroup.kill, cgroup.events, cpu.stat).
// Facts: Documentation/admin-guide/cgroup-v2.rst (kernel). Only membership, kill and CPU are
// used: they need no controller, so they work on hybrid hosts and in delegated subtrees.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** the cgroup v2 folder this process is in, from /proc/self/mountinfo and /proc/self/cgroup */
export function ownCgroupDir(): string | null {
  let mounts: string;
  let own: string;
  try {
    mounts = readFileSync("/proc/self/mountinfo", "utf8");
    own = readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return null;
  }
  const rel = /^0::(.*)$/m.exec(own)?.[1];
  if (rel === undefined) return null;
  for (const line of mounts.split("\n")) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
    const [left, right] = line.split(" - ");
    if (!left || !right || !right.startsWith("cgroup2 ")) continue;
    const f = left.split(" ");
    const root = f[3]!;
    const mountpoint = f[4]!.replace(/\\040/g, " ");
    // the mount shows the hierarchy from `root` down; our path must lie below it
    if (rel !== root && !rel.startsWith(root === "/" ? "/" : `${root}/`)) continue;
    const below = root === "/" ? rel : rel.slice(root.length);
    return join(mountpoint, below);
  }
  return null;
}

/**
 * Make sup's own cgroup folder `name` below the cgroup this process is in. Returns its path,
 * or null where this process may not create cgroups (no cgroup v2, not root and not delegated,
 * a read-only cgroupfs in a container) or the folder lacks cgroup.procs.
 */
export function makeSupCgroup(name: string): string | null {
  const own = ownCgroupDir();
  if (!own) return null;
  const dir = join(own, name);
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") return null;
  }
  if (!existsSync(join(dir, "cgroup.procs"))) return null;
  return dir;
}

export function makeCgroup(dir: string): void {
  mkdirSync(dir);
}

/** pids in the cgroup (its own, not its children's) */
export function cgroupProcs(dir: string): number[] {
  try {
    return readFileSync(join(dir, "cgroup.procs"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** false once no process is left in the cgroup or below it (cgroup.events "populated 0") */
export function populated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, "cgroup.events"), "utf8"));
  } catch {
    return false;
  }
}

/** SIGKILL everything in the cgroup and below at once (cgroup.kill, Linux 5.14); false where the kernel lacks it */
export function cgroupKill(dir: string): boolean {
  try {
    writeFileSync(join(dir, "cgroup.kill"), "1");
    return true;
  } catch {
    return false;
  }
}

/** CPU the cgroup's processes used, dead ones included (cpu.stat usage_usec), in seconds */
export function cgroupCpu(dir: string): number | null {
  try {
    const m = /^usage_usec (\d+)$/m.exec(readFileSync(join(dir, "cpu.stat"), "utf8"));
    return m ? Number(m[1]) / 1e6 : null;
  } catch {
    return null;
  }
}

/** remove an empty cgroup; false while it still has processes */
export function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}
