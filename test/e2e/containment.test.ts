// Containment (contract §10), in both modes: every process a companion starts belongs to it, also
// after setsid(), a double fork, a daemonizing program or a fork of 500 children. Stop, restart,
// reread removal, the main process's exit, the end of sup, a dead manager and a dead arbiter
// reach all of them; status counts all of them. What is left is seen from outside sup: every
// companion carries a role in its environment (CT_ROLE) and unique sleep arguments, both read
// from /proc.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { alive, identity, type TaggedProc } from "../helpers/census.ts";
import { SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";
import { ROLE, cgroupDir, cgroupOf, cgroupUsable, ignores, roles, rssBytes, stillAlive, withArgs } from "../helpers/tree.ts";

// real processes (500-child trees) on a slow shared machine: bun resets the default per file
setDefaultTimeout(180_000);

/** can sup make cgroups here? (tried for real, as sup would) If not, "cgroup" must fall back to marker */
const CGROUP_OK = cgroupUsable();

let f: SupFixture | undefined;
/** what went wrong inside a waitFor probe (which swallows throws until its deadline): checked at the end of each test */
let problems: string[] = [];
afterEach(async () => {
  await f?.cleanup();
  f = undefined;
  const seen = problems;
  problems = [];
  if (seen.length) throw new Error(`problems seen while waiting: ${seen.join("; ")}`);
});

/** a daemon must never run twice: note it when it does */
function checkDaemon(n: number): void {
  const c = daemonCopies(n);
  if (c.length > 1) problems.push(`${c.length} daemon copies: ${c.map(identity)}`);
}

let seq = 0;
/** a base for this test's sleep arguments, unique per test (and per test process) */
function base(): number {
  return 5_000_000 + (process.pid % 4000) * 1000 + (++seq % 40) * 25;
}

interface Kind {
  role: string;
  /** its [companions.ROLE] table */
  toml: string;
  /** the sleep arguments its processes carry */
  nums: number[];
  /** its tree is complete (none for the daemon: each run kills the daemon it starts) */
  ready?: (l: TaggedProc[]) => boolean;
}

function table(role: string, command: string, extra: Record<string, string | number> = {}): string {
  const keys = Object.entries(extra).map(([k, v]) => `${k} = ${JSON.stringify(v)}\n`);
  return `[companions.${role}]\ncommand = ${JSON.stringify(command)}\nenv = { ${ROLE} = "${role}" }\n${keys.join("")}`;
}

const cmds = (l: TaggedProc[], cmd: string) => l.filter((p) => p.cmd === cmd);

/**
 * The escapees: a setsid child, a double fork, a TERM-deaf setsid child (SIGKILL escalation),
 * a fork of 500 children, a daemonizing program (restart = "always", retried every 0.3 s).
 * `restart` overrides the policy of all of them; `deafStop` is deaf's stop_timeout (default 1).
 */
function kinds(n: number, opts: { restart?: string; deafStop?: number } = {}): Kind[] {
  const p: Record<string, string | number> = opts.restart ? { restart: opts.restart } : {};
  return [
    {
      role: "esc",
      toml: table("esc", `setsid sleep ${n + 3} </dev/null >/dev/null 2>&1 & exec sleep ${n}`, p),
      nums: [n, n + 3],
      ready: (l) => l.length === 2 && cmds(l, `sleep ${n}`).length === 1 && cmds(l, `sleep ${n + 3}`).length === 1,
    },
    {
      role: "dbl",
      toml: table("dbl", `sh -c '(setsid sh -c "sleep ${n + 6}" &) ; exec sleep ${n + 5}'`, p),
      nums: [n + 5, n + 6],
      ready: (l) => cmds(l, `sleep ${n + 5}`).length === 1 && cmds(l, `sleep ${n + 6}`).length === 1,
    },
    {
      role: "deaf",
      toml: table("deaf", `setsid sh -c "trap '' TERM; exec sleep ${n + 11}" </dev/null >/dev/null 2>&1 & trap '' TERM; exec sleep ${n + 10}`, {
        stop_timeout: opts.deafStop ?? 1,
        reload_timeout: 1,
        ...p,
      }),
      nums: [n + 10, n + 11],
      ready: (l) => l.length === 2 && l.every((x) => ignores(x.pid, 15)) && cmds(l, `sleep ${n + 10}`).length === 1 && cmds(l, `sleep ${n + 11}`).length === 1,
    },
    {
      role: "bomb",
      toml: table("bomb", `for i in $(seq 500); do sleep ${n + 8} & done; wait`, p),
      nums: [n + 8],
      ready: (l) => l.length === 501 && cmds(l, `sleep ${n + 8}`).length === 500,
    },
    {
      role: "daemon",
      toml: table("daemon", `daemonize ${n + 15} daemon.pid`, { restart: "always", restart_delay: 0.3, backoff: "fixed", ...p }),
      nums: [n + 15],
    },
  ];
}

const HEAD = `
[defaults]
startsecs = 0
stop_timeout = 5
`;

function config(ks: Kind[], more = ""): string {
  return `${HEAD}\n${ks.map((k) => k.toml).join("\n")}\n${more}`;
}

/** the daemon's own process (`sleep D`) */
function daemonCopies(n: number): TaggedProc[] {
  return withArgs([n + 15]).filter((p) => p.cmd === `sleep ${n + 15}`);
}

const ids = (l: TaggedProc[] | undefined) => new Set((l ?? []).map(identity));

/**
 * Wait until every kind's tree is complete and the same processes on two samples in a row (a
 * shell's forked copies come and go while a tree is built). The daemon must never have two copies.
 */
async function treesUp(fx: SupFixture, ks: Kind[], n: number, timeoutMs = 90_000): Promise<Map<string, TaggedProc[]>> {
  let prev = "";
  const seen = await waitFor(
    `every tree complete and settled (${ks.map((k) => k.role)})`,
    () => {
      const m = roles(fx.mark);
      checkDaemon(n);
      // the counts make a timeout readable (a Map prints as {})
      return { counts: Object.fromEntries(ks.map((k) => [k.role, m.get(k.role)?.length ?? 0])), m };
    },
    ({ m }) => {
      if (!ks.every((k) => !k.ready || k.ready(m.get(k.role) ?? []))) {
        prev = "";
        return false;
      }
      const key = ks.map((k) => (k.ready ? [...ids(m.get(k.role))].sort().join(",") : "")).join("|");
      const same = key === prev;
      prev = key;
      return same;
    },
    timeoutMs,
    200,
  );
  return seen.m;
}

/** what is left of these kinds: by role (environment) and by sleep argument (command line) */
function leftOf(fx: SupFixture, ks: Kind[]): TaggedProc[] {
  const m = roles(fx.mark);
  const byRole = ks.flatMap((k) => m.get(k.role) ?? []);
  const byArg = withArgs(ks.flatMap((k) => k.nums));
  return [...new Map([...byRole, ...byArg].map((p) => [p.pid, p])).values()];
}

function waitNothingLeft(fx: SupFixture, ks: Kind[], what: string, timeoutMs = 15_000): Promise<TaggedProc[]> {
  return waitFor(`nothing of ${ks.map((k) => k.role)} left ${what}`, () => leftOf(fx, ks), (l) => l.length === 0, timeoutMs, 25);
}

describe.each(["cgroup", "marker"] as const)("containment %s", (mode) => {
  /** the mode sup must report: cgroup mode falls back to marker where no cgroup can be made */
  const want = mode === "cgroup" && CGROUP_OK ? "cgroup" : "marker";

  /** start sup in this mode and check via info that it is in force */
  async function start(fx: SupFixture): Promise<void> {
    await fx.start({ env: { SUP_CONTAINMENT: mode } });
    const info = await fx.request({ cmd: "info" });
    expect(info).toMatchObject({ ok: true, containment: want });
  }

  /** sup's own cgroup folder (cgroup mode), from where a companion's process lives */
  function supCgroupOf(pid: number): string | null {
    const rel = cgroupOf(pid);
    const dir = rel && cgroupDir(rel);
    return dir && /\/sup\.[^/]+\/\d+\.[^/]+$/.test(dir) ? dirname(dir) : null;
  }

  test(`info reports the mode (${want}), the arbiter, the manager, socket and config; the companion is contained that way`, async () => {
    const n = base();
    f = new SupFixture(config(kinds(n).slice(0, 1)));
    await start(f);
    await treesUp(f, kinds(n).slice(0, 1), n);
    const info = await f.request({ cmd: "info" });
    expect(info).toMatchObject({ ok: true, containment: want, pid: f.proc!.pid, manager_pid: f.managerPid(), socket: f.socket, config: f.config });
    const ctl = await f.ctl("info");
    expect(ctl.code).toBe(0);
    expect(ctl.stdout).toMatch(new RegExp(`^containment: ${want}$`, "m"));
    expect(ctl.stdout).toMatch(new RegExp(`^pid: ${f.proc!.pid}$`, "m"));
    expect(ctl.stdout).toMatch(new RegExp(`^manager_pid: ${info.manager_pid}$`, "m"));
    // seen from outside: both processes of the run in one cgroup of sup's, or both marked
    const main = (await f.entry("esc")).pid!;
    const both = roles(f.mark).get("esc")!.map((p) => p.pid);
    expect(both).toContain(main);
    expect(both).toHaveLength(2);
    if (want === "cgroup") {
      const groups = new Set(both.map((p) => cgroupOf(p)));
      expect(groups.size).toBe(1);
      const rel = [...groups][0]!;
      expect(rel).toMatch(/\/sup\.[^/]+\/\d+\.esc$/);
      expect(supCgroupOf(main)).not.toBeNull();
    } else {
      expect(both.map((p) => supCgroupOf(p))).toEqual([null, null]);
    }
  });

  test("status: processes, rss_bytes and cpu_percent count the whole tree; the table shows CPU and RSS, - when stopped", async () => {
    const n = base();
    const ks = kinds(n).filter((k) => ["esc", "dbl", "bomb"].includes(k.role));
    // sh -c "sh -c '…'": dash keeps the outer shell, so its tree has 2 processes
    const busy: Kind = { role: "busy", toml: table("busy", `sh -c 'while :; do :; done'`), nums: [], ready: (l) => l.length >= 1 };
    const off: Kind = { role: "off", toml: table("off", `sleep ${n + 20}`), nums: [n + 20] };
    f = new SupFixture(config([...ks, busy, off]));
    await start(f);
    await f.waitState("off", "RUNNING");
    expect((await f.ctl("stop", "off")).code).toBe(0);
    await f.waitState("off", "STOPPED");
    const busyUp = performance.now();
    const trees = await treesUp(f, [...ks, busy], n);
    // wait out the sample cache: status below is a fresh sample
    await Bun.sleep(1100);
    const t0 = performance.now();
    const st = await f.status();
    const coldMs = performance.now() - t0;
    const t1 = performance.now();
    await f.status();
    const warmMs = performance.now() - t1;
    const byName = Object.fromEntries(st.map((e) => [e.name, e]));
    const seen = roles(f.mark);
    for (const k of [...ks, busy]) {
      const mine = seen.get(k.role) ?? [];
      expect({ name: k.role, processes: byName[k.role]!.processes }).toEqual({ name: k.role, processes: mine.length });
      expect(ids(mine)).toEqual(ids(trees.get(k.role)));
      const rss = byName[k.role]!.rss_bytes as number;
      const proc = rssBytes(mine.map((p) => p.pid));
      console.log(`[${mode}] ${k.role}: processes ${mine.length}, rss_bytes ${rss}, /proc VmRSS sum ${proc} (x${(rss / proc).toFixed(2)})`);
      expect(rss).toBeGreaterThan(proc / 2);
      expect(rss).toBeLessThan(proc * 2);
    }
    expect(byName.esc!.processes).toBe(2);
    expect(byName.bomb!.processes).toBe(501);
    expect(byName.esc!.cpu_percent as number).toBeLessThan(20);
    expect(byName.off).toMatchObject({ state: "STOPPED", processes: 0, cpu_percent: null, rss_bytes: null });
    console.log(`[${mode}] status with a 501-process tree: ${coldMs.toFixed(1)} ms fresh sample, ${warmMs.toFixed(1)} ms from the 1 s cache`);
    // a busy loop: more than 20 % of a core after a second or two, never more than 250 %
    const cpus: number[] = [];
    await waitFor(
      "busy to show cpu_percent > 20",
      async () => {
        await Bun.sleep(1100); // past the sample cache: each value is a fresh interval
        const c = (await f!.entry("busy")).cpu_percent as number;
        cpus.push(c);
        return c;
      },
      (c) => c > 20 && performance.now() - busyUp > 1500,
      30_000,
      0,
    );
    console.log(`[${mode}] busy loop cpu_percent samples: ${cpus.join(", ")}`);
    for (const c of cpus) expect(c).toBeLessThan(250);
    // the table, piped: CPU and RSS columns, values for running companions, - for stopped
    const r = await f.ctl("status");
    expect(r.code).toBe(0);
    // the table is aligned: each cell starts at its header's offset (a cell may hold spaces)
    const lines = r.stdout.split("\n").filter(Boolean);
    const header = lines[0]!;
    const names = header.trim().split(/\s+/);
    const starts = names.map((h) => header.indexOf(h));
    const rows = lines.map((l) => starts.map((at, i) => l.slice(at, i + 1 < starts.length ? starts[i + 1] : undefined).trim()));
    const cpuAt = names.indexOf("CPU");
    const rssAt = names.indexOf("RSS");
    expect(cpuAt).toBeGreaterThan(0);
    expect(rssAt).toBeGreaterThan(0);
    const row = (name: string) => rows.find((x) => x[0] === name)!;
    for (const name of ["esc", "dbl", "bomb", "busy"]) {
      expect(row(name)[cpuAt]).toMatch(/^\d+(\.\d+)?%$/);
      expect(row(name)[rssAt]).toMatch(/^\d+(\.\d+)?[BKMGT]$/);
    }
    const mb = (s: string) => {
      const m = /^(\d+(?:\.\d+)?)([BKMGT])$/.exec(s)!;
      return Number(m[1]) * 1024 ** "BKMGT".indexOf(m[2]!);
    };
    const bombRss = rssBytes((roles(f.mark).get("bomb") ?? []).map((p) => p.pid));
    expect(mb(row("bomb")[rssAt]!)).toBeGreaterThan(bombRss / 2);
    expect(mb(row("bomb")[rssAt]!)).toBeLessThan(bombRss * 2);
    expect(Number(row("busy")[cpuAt]!.slice(0, -1))).toBeGreaterThan(20);
    expect(row("off")[cpuAt]).toBe("-");
    expect(row("off")[rssAt]).toBe("-");
  });

  test("ctl stop: nothing of any tree is left (setsid, double fork, TERM-deaf escapee, 500 children, daemon)", async () => {
    const n = base();
    const ks = kinds(n);
    f = new SupFixture(config(ks));
    await start(f);
    await treesUp(f, ks, n);
    for (const k of ks) expect((await f.ctl("stop", k.role)).code).toBe(0);
    for (const k of ks) await f.waitState(k.role, "STOPPED", 20_000);
    await waitNothingLeft(f, ks, "after ctl stop");
    expect(daemonCopies(n)).toEqual([]);
  });

  test("ctl restart: only the new run's processes, never old and new side by side", async () => {
    const n = base();
    const ks = kinds(n);
    f = new SupFixture(config(ks));
    await start(f);
    const before = await treesUp(f, ks, n);
    const tracked = ks.filter((k) => k.ready);
    const old = new Map(tracked.map((k) => [k.role, ids(before.get(k.role))]));
    for (const k of tracked) expect((await f.ctl("restart", k.role)).code).toBe(0);
    await handover(f, old, n, async (m) => tracked.every((k) => k.ready!(m.get(k.role) ?? []) && (m.get(k.role) ?? []).every((p) => !old.get(k.role)!.has(identity(p)))), "the restarted trees");
    const after = await treesUp(f, tracked, n);
    for (const k of tracked) {
      for (const id of old.get(k.role)!) expect(stillAlive(id)).toBe(false);
      for (const p of after.get(k.role)!) expect(old.get(k.role)!.has(identity(p))).toBe(false);
      expect((await f.entry(k.role)).state).toBe("RUNNING");
    }
  });

  test("reread removal: the removed companions' trees are gone, the kept one untouched", async () => {
    const n = base();
    const ks = kinds(n);
    const keep: Kind = { role: "keep", toml: table("keep", `sleep ${n + 21}`), nums: [n + 21], ready: (l) => l.length === 1 };
    f = new SupFixture(config([...ks, keep]));
    await start(f);
    await treesUp(f, [...ks, keep], n);
    const kept = (await f.entry("keep")).pid;
    f.write(config([keep]));
    const r = await f.request({ cmd: "reread" });
    expect(r).toMatchObject({ ok: true, removed: ks.map((k) => k.role).sort() });
    await waitNothingLeft(f, ks, "after the reread removed them", 20_000);
    await waitFor("keep to be the only companion left", () => f!.status(), (st) => st.length === 1 && st[0]!.name === "keep", 20_000);
    expect(await f.entry("keep")).toMatchObject({ state: "RUNNING", pid: kept });
    expect(roles(f.mark).get("keep")!.map((p) => p.pid)).toEqual([kept!]);
  });

  test("the main process exits: the rest of its tree is killed at once and the log names what was killed", async () => {
    const n = base();
    const ks = kinds(n, { restart: "never" });
    f = new SupFixture(config(ks));
    await start(f);
    await treesUp(f, ks.filter((k) => k.ready), n);
    const daemon = await f.waitState("daemon", "EXITED", 20_000);
    expect(daemon.last_exit_code).toBe(0);
    const mains: Record<string, number> = {};
    for (const k of ks.filter((k) => k.ready)) mains[k.role] = (await f.entry(k.role)).pid!;
    for (const pid of Object.values(mains)) process.kill(pid, "SIGKILL");
    for (const k of ks) await f.waitState(k.role, "EXITED", 20_000);
    await waitNothingLeft(f, ks, "after their main processes exited");
    const killed = (name: string, pid: number, count: string) =>
      new RegExp(`${name}: main process ${pid} exited; killed ${count} process\\(es\\) left in its tree: \\d+ \\((sleep|sh)\\)`);
    await f.waitOutput(killed("esc", mains.esc!, "1"));
    await f.waitOutput(killed("deaf", mains.deaf!, "1"));
    await f.waitOutput(killed("bomb", mains.bomb!, "500"));
    await f.waitOutput(killed("dbl", mains.dbl!, "[1-9]\\d*"));
    expect(f.output).toMatch(new RegExp(`esc: main process ${mains.esc} exited; killed 1 process\\(es\\) left in its tree: \\d+ \\(sleep\\)`));
    // the daemonizing program exited 0 by itself; its daemon went with it
    await f.waitOutput(/daemon: main process \d+ exited; killed [1-9]\d* process\(es\) left in its tree: \d+ \((sleep|sh|setsid)\)/);
    expect(daemonCopies(n)).toEqual([]);
  });

  test('a daemonizing program with restart = "always": after several restarts never more than one copy', async () => {
    const n = base();
    const [daemon] = kinds(n).filter((k) => k.role === "daemon");
    f = new SupFixture(config([daemon!]));
    await start(f);
    let most = 0;
    let samples = 0;
    await waitFor(
      "daemon to have been restarted 5 times",
      async () => {
        const c = daemonCopies(n).length;
        most = Math.max(most, c);
        samples++;
        return await f!.entry("daemon");
      },
      (e) => e.restart_count >= 5,
      40_000,
      20,
    );
    console.log(`[${mode}] daemon: at most ${most} copy over ${samples} samples across 5 restarts`);
    expect(most).toBeLessThanOrEqual(1);
    // each run's daemon was killed when its starter exited, and the log says so
    expect((f.output.match(/daemon: main process \d+ exited; killed [1-9]\d* process\(es\)/g) ?? []).length).toBeGreaterThanOrEqual(5);
    expect((await f.ctl("stop", "daemon")).code).toBe(0);
    await f.waitState("daemon", "STOPPED");
    await waitNothingLeft(f, [daemon!], "after ctl stop");
  });

  test("SIGTERM to sup run: every tree is gone when it exits (0), and so is sup's cgroup", async () => {
    const n = base();
    const ks = kinds(n);
    f = new SupFixture(config(ks));
    await start(f);
    await treesUp(f, ks, n);
    const cg = supCgroupOf((await f.entry("esc")).pid!);
    expect(cg !== null).toBe(want === "cgroup");
    f.signal("SIGTERM");
    expect(await f.waitExit(30_000)).toBe(0);
    // sup has exited: nothing may be left at all (no grace)
    expect(leftOf(f, ks)).toEqual([]);
    await f.waitNoProcs(undefined, "no process of this test left", 2_000);
    if (cg) expect(existsSync(cg)).toBe(false);
  });

  test("manager SIGKILL: the old trees are gone before the new manager is up, then exactly one of each", async () => {
    const n = base();
    const ks = kinds(n);
    f = new SupFixture(config(ks));
    await start(f);
    const before = await treesUp(f, ks, n);
    const tracked = ks.filter((k) => k.ready);
    const old = new Map(ks.map((k) => [k.role, ids(before.get(k.role))]));
    const manager = f.managerPid()!;
    expect(manager).toBeNumber();
    const t0 = performance.now();
    process.kill(manager, "SIGKILL");
    let oldGone = null as number | null;
    let managerUp = null as number | null;
    await waitFor(
      "a new manager with every tree complete, all new",
      async () => {
        // order matters: what is seen first existed before what is looked at after
        const managers = f!.census().filter((p) => p.cmd.includes("__manager") && p.pid !== manager);
        const m = roles(f!.mark);
        const oldLeft = [...old].flatMap(([role, s]) => [...s].filter(stillAlive).map((id) => `${role} ${id}`));
        if (managers.length && oldLeft.length) problems.push(`new manager ${managers[0]!.pid} up while old processes live: ${oldLeft.join(", ")}`);
        for (const k of tracked) {
          const fresh = (m.get(k.role) ?? []).filter((p) => !old.get(k.role)!.has(identity(p)));
          const stale = oldLeft.filter((x) => x.startsWith(`${k.role} `));
          if (fresh.length && stale.length) problems.push(`${k.role}: new ${fresh.map(identity)} beside old ${stale}`);
        }
        checkDaemon(n);
        if (!oldLeft.length && oldGone === null) oldGone = performance.now() - t0;
        if (managers.length && managerUp === null) managerUp = performance.now() - t0;
        return { managers, m };
      },
      ({ managers, m }) => managers.length === 1 && tracked.every((k) => k.ready!(m.get(k.role) ?? []) && (m.get(k.role) ?? []).every((p) => !old.get(k.role)!.has(identity(p)))),
      60_000,
      25,
    );
    expect([...new Set(problems)]).toEqual([]);
    console.log(`[${mode}] manager SIGKILL: old trees gone after ${oldGone?.toFixed(0)} ms, new manager up after ${managerUp?.toFixed(0)} ms`);
    const after = await treesUp(f, ks, n);
    for (const k of tracked) expect(after.get(k.role)!.some((p) => old.get(k.role)!.has(identity(p)))).toBe(false);
    expect(f.census().filter((p) => p.cmd.includes("__manager"))).toHaveLength(1);
    expect(alive(manager)).toBe(false);
    expect(await f.request({ cmd: "info" })).toMatchObject({ ok: true, manager_restarts: 1, containment: want });
    // the deaf escapee (stop_timeout 1) is SIGKILLed at its own stop timeout, not a generic one
    expect(oldGone!).toBeLessThan(6_000);
  });

  test("arbiter SIGKILL: nothing of any companion is left within 2 s (deadline 3 s), then the manager is gone", async () => {
    const n = base();
    // deaf's stop_timeout is 10 s: only the manager's own 1.5 s cap gets it SIGKILLed in time
    const ks = kinds(n, { deafStop: 10 });
    f = new SupFixture(config(ks));
    await start(f);
    await treesUp(f, ks, n);
    const cg = supCgroupOf((await f.entry("esc")).pid!);
    const total = leftOf(f, ks).length;
    const t0 = performance.now();
    f.signal("SIGKILL");
    let last: TaggedProc[] = [];
    await waitFor(
      "nothing of any companion left within 3 s of the arbiter's SIGKILL",
      () => (last = leftOf(f!, ks)),
      (l) => l.length === 0,
      3_000,
      5,
    );
    const took = performance.now() - t0;
    console.log(`[${mode}] arbiter SIGKILL: ${total} companion processes gone after ${took.toFixed(0)} ms`);
    expect(last).toEqual([]);
    await f.waitNoProcs(undefined, "the manager to be gone too", 10_000);
    console.log(`[${mode}] arbiter SIGKILL: manager gone after ${(performance.now() - t0).toFixed(0)} ms`);
    if (cg) await waitFor("sup's cgroup to be removed", () => existsSync(cg), (e) => !e, 5_000);
  });
});

/**
 * Sample until `done`: in every sample, no tracked role has processes of its old run beside new
 * ones (the new processes are looked at first, the old ones after, so a hit is a real overlap).
 */
async function handover(fx: SupFixture, old: Map<string, Set<string>>, n: number, done: (m: Map<string, TaggedProc[]>) => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const t0 = performance.now();
  for (;;) {
    const m = roles(fx.mark);
    for (const [role, s] of old) {
      const fresh = (m.get(role) ?? []).filter((p) => !s.has(identity(p)));
      const stale = [...s].filter(stillAlive);
      if (fresh.length && stale.length) throw new Error(`${role}: new ${fresh.map(identity)} beside old ${stale}`);
    }
    checkDaemon(n);
    if (await done(m)) return;
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(25);
  }
}
