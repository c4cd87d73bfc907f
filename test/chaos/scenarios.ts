// Chaos scenarios against the compiled dist/sup: kill the manager over and over, kill the
// arbiter, storm it with signals, flood the control socket, break the config under a reload,
// kill the manager at its fd limit, take the manager's binary away.
// Each scenario takes its size, returns figures, and throws a ChaosViolation (want / got) on
// the first broken promise of the contract. Every process a scenario starts is gone when it
// returns or throws: each runs its own SupFixture and cleans it up, census included.
//
// Used by test/chaos/chaos.test.ts (bounded sizes for CI) and scripts/chaos.ts (full size, plus
// the scenarios sup fails today: startupSignalStorm, stopWhileReaping, sigtermAtLaunch,
// overCapRefusal, badConfigReload with the "empty" case).
import { chmodSync, copyFileSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import type { Socket } from "bun";
import { censusByTag, childPids, childrenOf, identity, rssKb, taggedCensus, zombiesOf, type Proc, type TaggedProc } from "../helpers/census.ts";
import { SUP, SupFixture, type Entry } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// ---------------------------------------------------------------- violations

export class ChaosViolation extends Error {
  constructor(
    readonly scenario: string,
    readonly want: string,
    readonly got: string,
  ) {
    super(`${scenario}: want ${want}; got ${got}`);
    this.name = "ChaosViolation";
  }
}

function violation(scenario: string, want: string, got: string): never {
  throw new ChaosViolation(scenario, want, got);
}

const show = (v: unknown, max = 1500): string => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
};
const procList = (ps: Proc[]): string => (ps.length ? ps.map((p) => `${p.pid}(pgid ${p.pgid}, ppid ${p.ppid}, ${p.state}) ${p.cmd}`).join("; ") : "none");

// ---------------------------------------------------------------- fixtures in flight

/** every fixture a scenario made and has not cleaned up yet (for an afterEach safety net) */
const inFlight = new Set<SupFixture>();

function fixture(toml: string): SupFixture {
  const f = new SupFixture(toml);
  inFlight.add(f);
  return f;
}

/**
 * Stop sup, kill anything left with the fixture's marker, remove the folder. Returns the
 * processes that were still alive after sup had exited (they are killed, and reported).
 */
async function finish(f: SupFixture): Promise<Proc[]> {
  inFlight.delete(f);
  let left: Proc[] = [];
  if (f.proc && f.exitCode === null) {
    f.proc.kill("SIGTERM");
    const code = await Promise.race([f.proc.exited, Bun.sleep(15_000).then(() => null)]);
    if (code === null) f.proc.kill("SIGKILL");
  }
  try {
    left = await waitFor("the census to empty", () => f.census(), (l) => l.length === 0, 5_000).catch(() => f.census());
  } finally {
    await f.cleanup().catch(() => {}); // kills by marker, removes the folder
  }
  return left;
}

/** run `body` with a fixture; clean up whatever happens; a leftover process is a violation */
async function withFixture<T>(scenario: string, toml: string, body: (f: SupFixture) => Promise<T>): Promise<T> {
  const f = fixture(toml);
  let result: T;
  try {
    result = await body(f);
  } catch (e) {
    await finish(f).catch(() => {});
    throw e;
  }
  const left = await finish(f);
  if (left.length) violation(scenario, "no process left after sup stopped", `leftovers: ${procList(left)}`);
  return result;
}

/** clean up every fixture a failed or interrupted scenario left behind; returns the leftovers */
export async function cleanupAll(): Promise<Proc[]> {
  const left: Proc[] = [];
  for (const f of [...inFlight]) left.push(...(await finish(f)));
  return left;
}

// ---------------------------------------------------------------- the companions

/** companion shapes: what one instance of each looks like in the census */
interface Shape {
  name: string;
  /** what its leader's command line looks like */
  leader: RegExp;
  /** how many processes (leader included) one instance has */
  min: number;
  max: number;
  /** extra exact counts: e.g. the tree has exactly 2 `sleep 1000000` */
  exact?: { re: RegExp; n: number; what: string }[];
}

const TRIO_SHAPES: Shape[] = [
  { name: "tree", leader: /fixtures\/tree/, min: 3, max: 3, exact: [{ re: /^sleep 1000000$/, n: 2, what: "sleeps" }] },
  { name: "plain", leader: /^sleep 1000000$/, min: 1, max: 1 },
  // slow-stop runs `sleep 0.2 & wait` in a loop: one transient sleep at most
  { name: "slow", leader: /fixtures\/slow-stop/, min: 1, max: 2 },
];

/** a tree (sh + 2 grandchildren), a plain forever, a slow stopper; CHAOS_ROLE = name */
const TRIO = `
[defaults]
startsecs = 0.2
stop_timeout = 5
reload_timeout = 5
stdout = "null"

[companions.tree]
command = "tree"
env = { CHAOS_ROLE = "tree" }

[companions.plain]
command = "forever"
env = { CHAOS_ROLE = "plain" }

[companions.slow]
command = "slow-stop 0.5"
stdout = "slow.log"
env = { CHAOS_ROLE = "slow" }
`;

/**
 * wait until the slow companion of TRIO (pid from status) has set its TERM trap ("slow-stop PID
 * ready" in slow.log): a stop that comes earlier kills it at once instead of letting it drain
 */
async function slowReady(f: SupFixture, S: string, entries: Entry[], when: string): Promise<void> {
  const pid = entries.find((e) => e.name === "slow")?.pid;
  if (!pid) violation(S, `a pid for slow ${when}`, show(entries));
  await f.waitReady("slow", { pid }).catch((e) => violation(S, `slow ${pid} to set its TERM trap ${when}`, (e as Error).message));
}

/**
 * Check that each companion runs exactly once: one leader, its pid the status pid, every
 * process carrying its role in that one process group, the expected number of them.
 * Returns null when fine, else what is wrong.
 */
function shapeProblem(shapes: Shape[], entries: Entry[], byRole: Map<string, TaggedProc[]>): string | null {
  const problems: string[] = [];
  for (const s of shapes) {
    const e = entries.find((x) => x.name === s.name);
    const procs = byRole.get(s.name) ?? [];
    if (!e || e.pid === null) {
      problems.push(`${s.name}: no pid in status (${show(e)})`);
      continue;
    }
    const leaders = procs.filter((p) => p.pid === p.pgid);
    const strays = procs.filter((p) => p.pgid !== e.pid);
    const wrongCount = procs.length < s.min || procs.length > s.max;
    const badExact = (s.exact ?? []).filter((x) => procs.filter((p) => x.re.test(p.cmd)).length !== x.n);
    if (leaders.length !== 1 || leaders[0]!.pid !== e.pid || !s.leader.test(leaders[0]!.cmd) || strays.length || wrongCount || badExact.length) {
      const want = `one ${s.name} (leader pid ${e.pid} matching ${s.leader}, ${s.min === s.max ? s.min : `${s.min}-${s.max}`} process(es) all in group ${e.pid}${(s.exact ?? []).map((x) => `, ${x.n} ${x.what}`).join("")})`;
      problems.push(`${want}, found ${procList(procs)}`);
    }
  }
  // nothing that carries a role of no configured companion
  for (const [role, procs] of byRole) if (!shapes.some((s) => s.name === role)) problems.push(`unexpected role ${role}: ${procList(procs)}`);
  return problems.length ? problems.join(" | ") : null;
}

/** the live manager(s) of a fixture: `sup __manager` children of the arbiter */
function managersOf(arbiter: number): Proc[] {
  return childrenOf(arbiter).filter((p) => p.state !== "Z" && p.cmd.includes("__manager"));
}

async function tryStatus(f: SupFixture): Promise<Entry[] | null> {
  try {
    const r = await f.requestLines([JSON.stringify({ cmd: "status" })], 3_000);
    return r[0]?.ok ? (r[0].companions as Entry[]) : null;
  } catch {
    return null;
  }
}

const allRunning = (entries: Entry[] | null, names: string[]): entries is Entry[] =>
  !!entries && names.every((n) => entries.some((e) => e.name === n && e.state === "RUNNING" && e.pid !== null));

/** wait until every named companion is RUNNING; the status entries */
async function waitRunning(f: SupFixture, names: string[], timeoutMs: number, what = "every companion RUNNING"): Promise<Entry[]> {
  return (await waitFor(what, () => tryStatus(f), (e) => allRunning(e, names), timeoutMs)) as Entry[];
}

// ---------------------------------------------------------------- a. manager SIGKILL x N

export interface ManagerKillFigures {
  /** kills of a settled manager (every companion RUNNING) */
  rounds: number;
  /** extra kills of a manager still starting up (companions maybe spawned, not yet reported) */
  startupKills: number;
  /** distinct processes (pid@start) seen across every generation */
  processesTracked: number;
  /** processes of an earlier generation found alive after a recovery (a violation if > 0) */
  leftovers: number;
  /** zombies of the arbiter still there 1 s after a recovery (a violation if > 0) */
  zombies: number;
  /** recoveries after which a zombie child of the arbiter was seen at the first look */
  transientZombies: number;
  /** kill -> new manager answers and every companion RUNNING with a new pid */
  maxRecoveryMs: number;
  meanRecoveryMs: number;
}

export interface ManagerKillOptions {
  rounds: number;
  /** every Nth round also kills the next manager while it starts up (0: never) */
  startupKillEvery?: number;
  respawnMinMs?: number;
  respawnMaxMs?: number;
  /** longest a recovery may take before it counts as a stall */
  recoveryLimitMs?: number;
  progress?: (line: string) => void;
}

export async function managerKills(opts: ManagerKillOptions): Promise<ManagerKillFigures> {
  const S = "manager SIGKILL";
  const names = TRIO_SHAPES.map((s) => s.name);
  const limit = opts.recoveryLimitMs ?? 20_000;
  const figures: ManagerKillFigures = { rounds: 0, startupKills: 0, processesTracked: 0, leftovers: 0, zombies: 0, transientZombies: 0, maxRecoveryMs: 0, meanRecoveryMs: 0 };
  return withFixture(S, TRIO, async (f) => {
    await f.start({ env: { SUP_RESPAWN_MIN_MS: String(opts.respawnMinMs ?? 50), SUP_RESPAWN_MAX_MS: String(opts.respawnMaxMs ?? 200) } });
    const arbiter = f.proc!.pid;
    const seen = new Set<string>(); // every process of every generation
    const earlier = new Set<string>(); // processes of generations that were killed
    const note = () => {
      for (const p of taggedCensus(f.mark)) if (p.pid !== arbiter) seen.add(identity(p));
    };
    const seal = () => {
      note();
      for (const id of seen) earlier.add(id);
    };

    let entries = await waitRunning(f, names, limit);
    let managers = managersOf(arbiter);
    if (managers.length !== 1) violation(S, "exactly one manager at start", procList(managers));
    let manager = managers[0]!.pid;
    let total = 0;

    for (let round = 1; round <= opts.rounds; round++) {
      // the arbiter stops the dead manager's companions: let slow's trap be set so it drains
      await slowReady(f, S, entries, `before round ${round}`);
      const before = new Map(entries.map((e) => [e.name, e.pid]));
      seal();
      const t0 = performance.now();
      process.kill(manager, "SIGKILL");

      if (opts.startupKillEvery && round % opts.startupKillEvery === 0) {
        // kill the next manager too, at a random moment of its start-up
        const next = await waitFor("a new manager process", () => managersOf(arbiter), (m) => m.length === 1 && m[0]!.pid !== manager, limit, 2).catch(() => null);
        if (!next) violation(S, `a new manager within ${limit} ms of killing ${manager}`, `managers ${procList(managersOf(arbiter))}`);
        await Bun.sleep(Math.random() * 250); // chaos timing, not synchronisation
        seal();
        try {
          process.kill(next[0]!.pid, "SIGKILL");
          figures.startupKills++;
          manager = next[0]!.pid;
        } catch {}
      }

      // recovery: a new manager answers, every companion RUNNING with a pid of this generation
      const fresh = (e: Entry) => e.pid !== before.get(e.name);
      entries = (await waitFor(
        `recovery from killing manager ${manager} (round ${round})`,
        async () => {
          const m = managersOf(arbiter);
          if (m.length !== 1 || m[0]!.pid === manager) return null;
          return tryStatus(f);
        },
        (e) => allRunning(e, names) && e.every(fresh),
        limit,
        5,
      ).catch((err) => violation(S, `every companion RUNNING with a new pid within ${limit} ms of the kill (round ${round})`, `${(err as Error).message}; managers ${procList(managersOf(arbiter))}`))) as Entry[];
      const took = performance.now() - t0;
      total += took;
      figures.maxRecoveryMs = Math.max(figures.maxRecoveryMs, took);
      figures.rounds = round;

      if (f.exitCode !== null) violation(S, "the arbiter alive", `sup run exited with ${f.exitCode}`);
      managers = managersOf(arbiter);
      if (managers.length !== 1) violation(S, `exactly one manager after round ${round}`, procList(managers));
      manager = managers[0]!.pid;

      // nothing of an earlier generation survived
      const live = taggedCensus(f.mark).filter((p) => p.pid !== arbiter);
      const stale = live.filter((p) => earlier.has(identity(p)));
      if (stale.length) {
        figures.leftovers += stale.length;
        violation(S, `no process of an earlier generation alive after round ${round}`, procList(stale));
      }
      // each companion exactly once (polled briefly: /proc is read one process at a time)
      let problem: string | null = null;
      await waitFor(
        "one instance of each companion",
        async () => (problem = shapeProblem(TRIO_SHAPES, (await tryStatus(f)) ?? entries, censusByTag(f.mark))),
        (p) => p === null,
        2_000,
      ).catch(() => violation(S, `exactly one instance of each companion after round ${round}`, problem ?? "?"));
      // no unreaped child of the arbiter (its manager and adopted orphans are reaped); one seen
      // at the first look is counted, one still there a second later is a violation
      if (zombiesOf(arbiter).length) figures.transientZombies++;
      const z = await waitFor("no zombie child of the arbiter", () => zombiesOf(arbiter), (l) => l.length === 0, 1_000).catch(() => zombiesOf(arbiter));
      if (z.length) {
        figures.zombies += z.length;
        violation(S, `no zombie whose parent is the arbiter ${arbiter} after round ${round}`, procList(z));
      }
      note();
      opts.progress?.(`round ${round}: recovered in ${Math.round(took)} ms, manager ${manager}`);
    }
    figures.meanRecoveryMs = figures.rounds ? total / figures.rounds : 0;
    figures.processesTracked = seen.size;

    // a clean stop at the end
    f.signal("SIGTERM");
    const code = await f.waitExit(20_000).catch((e) => violation(S, "sup run to exit after SIGTERM", String(e)));
    if (code !== 0) violation(S, "exit 0 after SIGTERM", `exit ${code}`);
    return figures;
  });
}

// ---------------------------------------------------------------- b. arbiter SIGKILL

export interface ArbiterKillFigures {
  rounds: number;
  /** SIGKILL of the arbiter -> no companion and no manager left (census) */
  maxGoneMs: number;
  leftovers: number;
}

export async function arbiterKills(opts: { rounds: number; limitMs?: number }): Promise<ArbiterKillFigures> {
  const S = "arbiter SIGKILL";
  const limitMs = opts.limitMs ?? 2_000;
  const figures: ArbiterKillFigures = { rounds: 0, maxGoneMs: 0, leftovers: 0 };
  const names = TRIO_SHAPES.map((s) => s.name);
  for (let round = 1; round <= opts.rounds; round++) {
    // odd rounds: everything RUNNING; even rounds: companions just spawned (STARTING)
    const settled = round % 2 === 1;
    await withFixture(S, TRIO.replace("startsecs = 0.2", settled ? "startsecs = 0.2" : "startsecs = 30"), async (f) => {
      await f.start();
      if (settled) await slowReady(f, S, await waitRunning(f, names, 15_000), `(round ${round})`);
      else await waitFor("every companion spawned", () => censusByTag(f.mark), (m) => names.every((n) => m.has(n)), 15_000);
      const t0 = performance.now();
      f.signal("SIGKILL");
      await f.waitExit(5_000);
      const left = await waitFor("no process of this sup left", () => f.census(), (l) => l.length === 0, limitMs, 5).catch(() => null);
      const took = performance.now() - t0;
      if (!left) {
        const now = f.census();
        figures.leftovers += now.length;
        violation(S, `no companion and no manager within ${limitMs} ms of SIGKILL to the arbiter (round ${round}, ${settled ? "RUNNING" : "STARTING"})`, `after ${Math.round(took)} ms: ${procList(now)}`);
      }
      figures.maxGoneMs = Math.max(figures.maxGoneMs, took);
      figures.rounds = round;
    });
  }
  return figures;
}

// ---------------------------------------------------------------- c. signal storms

export interface SignalStormFigures {
  /** HUP + USR1 (+ USR2, PIPE) sent in the burst */
  signalsSent: number;
  /** "SIGHUP: rereading config" lines the manager logged (signals coalesce: 1..sent) */
  rereadsLogged: number;
  /** first status after the burst */
  statusAfterStormMs: number;
  /** SIGTERM during start-up: rounds, all exit 0 with nothing left */
  startupTerms: number;
  /** SIGTERM twice: rounds, all exit 0 with nothing left */
  doubleTerms: number;
  /** longest SIGTERM -> exit of sup run */
  maxStopMs: number;
  leftovers: number;
}

export interface SignalStormOptions {
  /** how many of each of SIGHUP and SIGUSR1 (default 100) */
  signals?: number;
  /** SIGTERM-during-start-up rounds (cycling through start-up phases) */
  startupTerms?: number;
  /** SIGTERM-twice rounds */
  doubleTerms?: number;
}

/** a picture of everything running: manager, companions' pids, every process identity */
function snapshot(f: SupFixture, arbiter: number, entries: Entry[]) {
  return {
    managers: managersOf(arbiter).map((p) => p.pid),
    pids: Object.fromEntries(entries.map((e) => [e.name, e.pid])),
    restarts: Object.fromEntries(entries.map((e) => [e.name, e.restart_count])),
    // group leaders and the tree's sleeps; slow-stop's loop forks short-lived children
    stable: taggedCensus(f.mark)
      .filter((p) => p.pid !== arbiter && (p.pid === p.pgid || p.cmd === "sleep 1000000"))
      .map(identity)
      .sort(),
  };
}

export async function signalStorms(opts: SignalStormOptions = {}): Promise<SignalStormFigures> {
  const S = "signal storm";
  const n = opts.signals ?? 100;
  const names = TRIO_SHAPES.map((s) => s.name);
  const figures: SignalStormFigures = { signalsSent: 0, rereadsLogged: 0, statusAfterStormMs: 0, startupTerms: 0, doubleTerms: 0, maxStopMs: 0, leftovers: 0 };

  // 1. a burst of SIGHUP / SIGUSR1 (and the ignored USR2 / PIPE) at the arbiter
  await withFixture(S, TRIO, async (f) => {
    await f.start();
    const arbiter = f.proc!.pid;
    const entries = await waitRunning(f, names, 15_000);
    const before = snapshot(f, arbiter, entries);
    for (let i = 0; i < n; i++) {
      process.kill(arbiter, "SIGHUP");
      process.kill(arbiter, "SIGUSR1");
      figures.signalsSent += 2;
      if (i % 10 === 0) {
        process.kill(arbiter, "SIGUSR2");
        process.kill(arbiter, "SIGPIPE");
        figures.signalsSent += 2;
      }
    }
    const t0 = performance.now();
    const after = await waitFor("a status reply after the storm", () => tryStatus(f), (e) => e !== null, 10_000).catch(() => null);
    figures.statusAfterStormMs = performance.now() - t0;
    if (f.exitCode !== null) violation(S, "sup alive after the burst", `sup run exited with ${f.exitCode}; output tail: ${show(f.output.slice(-1500))}`);
    if (!after) violation(S, "status to answer within 10 s of the burst", "no reply");
    // let the queued rereads finish (each logs one line), then compare everything
    await waitFor("the manager to log the rereads", () => (f.output.match(/reread: added \[\] removed \[\] restarted \[\] unchanged 3/g) ?? []).length, (k) => k >= 1, 10_000).catch(() => 0);
    const settled = await waitRunning(f, names, 10_000, "status after the rereads").catch(() => null);
    if (!settled) violation(S, "every companion RUNNING after the burst", show(after));
    const now = snapshot(f, arbiter, settled);
    if (JSON.stringify(now) !== JSON.stringify(before)) violation(S, `every pid unchanged by the burst: ${show(before)}`, show(now));
    figures.rereadsLogged = (f.output.match(/SIGHUP: rereading config/g) ?? []).length;
    if (figures.rereadsLogged < 1) violation(S, "the manager to log at least one SIGHUP reread", "none");
    if (/uncaught|panic|internal error|segmentation/i.test(f.output)) violation(S, "no error in sup's output after the burst", show(f.output.slice(-2000)));
  });

  // 2. SIGTERM during start-up, at a few phases: manager born / companions spawned / socket up
  const phases = ["manager born", "companions spawned", "socket answers"] as const;
  for (let i = 0; i < (opts.startupTerms ?? 3); i++) {
    const phase = phases[i % phases.length]!;
    await withFixture(S, TRIO.replace("startsecs = 0.2", "startsecs = 5"), async (f) => {
      await f.start({ waitReady: false });
      const arbiter = f.proc!.pid;
      if (phase === "manager born") await waitFor("a manager process", () => managersOf(arbiter), (m) => m.length > 0, 10_000, 1);
      else if (phase === "companions spawned") await waitFor("a companion spawned", () => censusByTag(f.mark).size, (k) => k > 0, 10_000, 2);
      else await waitFor("the socket to answer", () => tryStatus(f), (e) => e !== null, 10_000, 5);
      const t0 = performance.now();
      f.signal("SIGTERM");
      const code = await f.waitExit(20_000).catch((e) => violation(S, `sup run to exit after SIGTERM at "${phase}"`, String(e)));
      figures.maxStopMs = Math.max(figures.maxStopMs, performance.now() - t0);
      if (code !== 0) violation(S, `exit 0 after SIGTERM at start-up phase "${phase}"`, `exit ${code}; output: ${show(f.output.slice(-1500))}`);
      const left = await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 2_000).catch(() => f.census());
      if (left.length) {
        figures.leftovers += left.length;
        violation(S, `nothing left after SIGTERM at start-up phase "${phase}"`, procList(left));
      }
      figures.startupTerms++;
    });
  }

  // 3. SIGTERM twice (while running; every other round while still starting)
  for (let i = 0; i < (opts.doubleTerms ?? 2); i++) {
    const running = i % 2 === 0;
    await withFixture(S, TRIO, async (f) => {
      await f.start();
      if (running) await slowReady(f, S, await waitRunning(f, names, 15_000), "before SIGTERM twice");
      const t0 = performance.now();
      f.signal("SIGTERM");
      f.signal("SIGTERM");
      const code = await f.waitExit(20_000).catch((e) => violation(S, "sup run to exit after SIGTERM twice", String(e)));
      const took = performance.now() - t0;
      figures.maxStopMs = Math.max(figures.maxStopMs, took);
      if (code !== 0) violation(S, `exit 0 after SIGTERM twice (${running ? "running" : "starting"})`, `exit ${code}`);
      const left = await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 2_000).catch(() => f.census());
      if (left.length) {
        figures.leftovers += left.length;
        violation(S, "nothing left after SIGTERM twice", procList(left));
      }
      figures.doubleTerms++;
    });
  }
  return figures;
}

export interface LaunchTermFigures {
  rounds: number;
  /** delay after exec (ms) -> exit code of sup run */
  codes: Record<string, number>;
  leftovers: number;
}

/**
 * SIGTERM in the first milliseconds after exec, before sup can have installed its handlers.
 * Reported, and a violation when the exit code is not 0 or anything is left.
 */
export async function sigtermAtLaunch(opts: { delaysMs?: number[] } = {}): Promise<LaunchTermFigures> {
  const S = "SIGTERM at launch";
  const figures: LaunchTermFigures = { rounds: 0, codes: {}, leftovers: 0 };
  const bad: string[] = [];
  for (const d of opts.delaysMs ?? [0, 5, 10, 15, 20, 30, 50]) {
    await withFixture(S, TRIO, async (f) => {
      await f.start({ waitReady: false });
      if (d) await Bun.sleep(d); // the delay is the experiment
      f.signal("SIGTERM");
      const code = await f.waitExit(20_000);
      const left = await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 2_000).catch(() => f.census());
      figures.codes[`${d}ms`] = code;
      figures.leftovers += left.length;
      figures.rounds++;
      if (code !== 0 || left.length) bad.push(`${d} ms: exit ${code}, left ${procList(left)}`);
    });
  }
  if (bad.length) violation(S, "exit 0 and nothing left whenever SIGTERM arrives", bad.join("; "));
  return figures;
}

export interface StartupStormFigures {
  rounds: number;
  signalsSent: number;
  /** managers that died during the storm (a violation if > 0) */
  managersLost: number;
}

/**
 * SIGHUP / SIGUSR1 at the arbiter the moment its manager is born (before the manager can have
 * installed its handlers): the manager must survive, each companion start exactly once.
 */
export async function startupSignalStorm(opts: { rounds: number; /** at most this many per round */ signals?: number }): Promise<StartupStormFigures> {
  const S = "signal storm at start-up";
  const names = TRIO_SHAPES.map((s) => s.name);
  const figures: StartupStormFigures = { rounds: 0, signalsSent: 0, managersLost: 0 };
  for (let round = 1; round <= opts.rounds; round++) {
    await withFixture(S, TRIO, async (f) => {
      await f.start({ waitReady: false });
      const arbiter = f.proc!.pid;
      // the arbiter installs its handlers just before it spawns the manager: watch for that child
      // the cheap way (a /proc scan takes longer than the manager's start-up)
      const first = await waitFor("a manager process", () => (childPids(arbiter) ?? managersOf(arbiter).map((p) => p.pid))[0], (pid) => pid !== undefined, 10_000, 0);
      // from the manager's birth until its socket answers: one signal per millisecond or so
      let up = false;
      const ready = waitFor("the socket to answer", () => tryStatus(f), (e) => e !== null, 15_000, 2).finally(() => (up = true));
      for (let i = 0; !up && i < (opts.signals ?? 500); i++) {
        process.kill(arbiter, round % 2 ? "SIGHUP" : "SIGUSR1");
        figures.signalsSent++;
        await Bun.sleep(1);
      }
      await ready.catch(() => {});
      const entries = await waitRunning(f, names, 15_000);
      const died = /manager \d+ died unexpectedly \(([^)]*)\)/.exec(f.output);
      const now = managersOf(arbiter);
      if (died || now.length !== 1 || now[0]!.pid !== first!) {
        figures.managersLost++;
        violation(S, `manager ${first} to survive ${round % 2 ? "SIGHUP" : "SIGUSR1"} sent to the arbiter during its start-up`, `${died ? `"${died[0]}"` : "no death logged"}; managers now ${procList(now)}`);
      }
      let problem: string | null = null;
      await waitFor("one instance of each companion", async () => (problem = shapeProblem(TRIO_SHAPES, (await tryStatus(f)) ?? entries, censusByTag(f.mark))), (p) => p === null, 2_000).catch(() =>
        violation(S, "exactly one instance of each companion", problem ?? "?"),
      );
      figures.rounds = round;
    });
  }
  return figures;
}

export interface StopWhileReapingFigures {
  rounds: number;
  /** operator stop signal -> sup run exited */
  maxStopMs: number;
  leftovers: number;
}

/**
 * Kill the manager, then stop sup (SIGTERM / SIGQUIT / SIGINT, one per round) while the arbiter
 * is still stopping the dead manager's companions (one ignores SIGTERM): sup run must exit 0
 * with nothing left, i.e. SIGKILL what did not stop before it exits.
 */
export async function stopWhileReaping(opts: { rounds: number }): Promise<StopWhileReapingFigures> {
  const S = "stop while reaping";
  const figures: StopWhileReapingFigures = { rounds: 0, maxStopMs: 0, leftovers: 0 };
  const signals = ["SIGTERM", "SIGQUIT", "SIGINT"] as const;
  const toml = `
[defaults]
startsecs = 0.2
stdout = "null"

[companions.stubborn]
command = "ignore-term"
stop_timeout = 2
stdout = "stubborn.log"
env = { CHAOS_ROLE = "stubborn" }

[companions.plain]
command = "forever"
env = { CHAOS_ROLE = "plain" }
`;
  for (let round = 1; round <= opts.rounds; round++) {
    const sig = signals[(round - 1) % signals.length]!;
    await withFixture(S, toml, async (f) => {
      await f.start({ env: { SUP_RESPAWN_MIN_MS: "50", SUP_RESPAWN_MAX_MS: "200" } });
      const arbiter = f.proc!.pid;
      await waitRunning(f, ["stubborn", "plain"], 15_000);
      // it ignores SIGTERM only once its trap is set
      await f.waitReady("stubborn").catch((e) => violation(S, "stubborn to set its TERM trap", (e as Error).message));
      const manager = managersOf(arbiter)[0]!.pid;
      process.kill(manager, "SIGKILL");
      // the arbiter has seen the death and is stopping the leftovers (stubborn ignores SIGTERM)
      await f.waitOutput(new RegExp(`manager ${manager} died unexpectedly`), 10_000);
      const t0 = performance.now();
      f.signal(sig);
      const code = await f.waitExit(20_000).catch((e) => violation(S, `sup run to exit after ${sig}`, String(e)));
      figures.maxStopMs = Math.max(figures.maxStopMs, performance.now() - t0);
      const left = await waitFor("nothing left", () => f.census(), (l) => l.length === 0, 1_000).catch(() => f.census());
      if (code !== 0 || left.length) {
        figures.leftovers += left.length;
        violation(S, `exit 0 and nothing left after ${sig} while the arbiter stops a dead manager's companions`, `exit ${code}, left ${procList(left)}`);
      }
      figures.rounds = round;
    });
  }
  return figures;
}

// ---------------------------------------------------------------- d. client floods

/** a raw client of the control socket: writes with drain, counts reply lines, can stop reading */
export class Peer {
  text = "";
  lineCount = 0;
  closed = false;
  private sock: Socket<undefined> | null = null;
  private pending: Buffer[] = [];
  private waiters = new Set<() => void>();

  /** bytes written by us but not yet taken by the kernel (the server stopped reading) */
  get unsent(): number {
    return this.pending.reduce((n, b) => n + b.length, 0);
  }

  static async open(path: string, opts: { paused?: boolean; attempts?: number; onRetry?: (e: unknown) => void } = {}): Promise<Peer> {
    const attempts = opts.attempts ?? 50;
    for (let i = 1; ; i++) {
      try {
        return await Peer.once(path, !!opts.paused);
      } catch (e) {
        if (i >= attempts) throw new Error(`connect to ${path} failed ${i} times, last: ${(e as NodeJS.ErrnoException).code ?? ""} ${(e as Error).message}`);
        opts.onRetry?.(e);
        await Bun.sleep(Math.min(200, 5 * i));
      }
    }
  }

  private static once(path: string, paused: boolean): Promise<Peer> {
    const peer = new Peer();
    return new Promise((resolve, reject) => {
      Bun.connect({
        unix: path,
        socket: {
          open(s) {
            peer.sock = s;
            if (paused) s.pause();
            resolve(peer);
          },
          data(_s, chunk) {
            const t = chunk.toString();
            peer.text += t;
            for (let i = t.indexOf("\n"); i >= 0; i = t.indexOf("\n", i + 1)) peer.lineCount++;
            peer.wake();
          },
          drain() {
            peer.flush();
          },
          end() {
            peer.closed = true;
            peer.wake();
          },
          close() {
            peer.closed = true;
            peer.wake();
          },
          error() {
            peer.closed = true;
            peer.wake();
          },
          connectError(_s, e) {
            reject(e);
          },
        },
      }).catch(reject);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private flush(): void {
    const s = this.sock;
    if (!s) return;
    while (this.pending.length && !this.closed) {
      const buf = this.pending[0]!;
      const n = s.write(buf);
      if (n < buf.length) {
        this.pending[0] = buf.subarray(Math.max(0, n));
        return;
      }
      this.pending.shift();
    }
  }

  write(data: string | Uint8Array): void {
    if (this.closed) return;
    this.pending.push(Buffer.from(data));
    this.flush();
  }

  /** resolves once `ok()` holds (checked on every reply chunk and on close), or at the deadline */
  until(ok: () => boolean, timeoutMs: number): Promise<boolean> {
    if (ok()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        clearTimeout(t);
        this.waiters.delete(check);
        resolve(v);
      };
      const check = () => {
        if (ok()) done(true);
        else if (this.closed) done(ok());
      };
      const t = setTimeout(() => done(ok()), timeoutMs);
      this.waiters.add(check);
    });
  }

  /** complete reply lines so far */
  lines(): string[] {
    const all = this.text.split("\n");
    all.pop();
    return all;
  }

  /** close for good (no FIN handshake: the peer just vanishes) */
  close(): void {
    this.pending = [];
    this.closed = true;
    try {
      this.sock?.terminate();
    } catch {}
    this.wake();
  }
}

export interface FloodOptions {
  /** concurrent status clients per wave (waves repeat until durationMs has passed) */
  clients: number;
  /** clients that connect and never send */
  silent: number;
  /** clients that send half a line and vanish */
  halfLine: number;
  /** clients that pipeline `pipelined` status requests and never read */
  nonReaders: number;
  pipelined?: number;
  /** lines of random bytes, spread over `randomConns` connections that read the replies */
  randomLines: number;
  randomConns?: number;
  /** clients that send one line over the 1 MiB cap */
  overlong?: number;
  /** how long to keep the pressure on */
  durationMs?: number;
  /** longest a retry of the crashing companion may come late */
  lateLimitMs?: number;
  /** longest status may take during the flood */
  statusLimitMs?: number;
  /** longest the first status may take once every client closed (default 1 s) */
  statusAfterLimitMs?: number;
  /** also report the manager's RSS this long after the flood (0: no) */
  settleMs?: number;
  progress?: (line: string) => void;
}

export interface FloodFigures {
  waves: number;
  statusClients: number;
  /** status clients with a valid reply */
  answered: number;
  /** status clients refused with "too many connections" */
  refused: number;
  /** connect attempts that failed and were retried (listen backlog full) */
  connectRetries: number;
  /** the errors of those attempts, by code */
  connectErrors: Record<string, number>;
  randomLines: number;
  /** replies to random lines (one per non-blank line, each a BAD_REQUEST) */
  randomReplies: number;
  /** non-readers the server stopped reading from (output backpressure engaged) */
  backpressured: number;
  floodMs: number;
  /** restarts of the crashing companion logged during the flood */
  restartsDuringFlood: number;
  /** restart_count after - before */
  restartCountDelta: number;
  /** latest a BACKOFF -> STARTING came after its restart_delay, during the flood */
  maxRetryLateMs: number;
  /** slowest status probe answered during the flood */
  maxStatusDuringFloodMs: number;
  /** status probes refused (over the connection cap) during the flood */
  probesRefused: number;
  /** status probes whose connect failed (listen backlog full) */
  probesUnconnected: number;
  /** first status once every client is closed */
  statusAfterMs: number;
  managerRssKbBefore: number;
  managerRssKbPeak: number;
  /** manager VmRSS once every client is closed */
  managerRssKbAfter: number;
  /** manager VmRSS settleMs later (0 when not measured) */
  managerRssKbSettled: number;
}

const FLOOD_TOML = `
[defaults]
stdout = "null"
stop_timeout = 5

[companions.crash]
command = "exit-with 1 0.3"
restart = "always"
restart_delay = 0.2
backoff = "fixed"
startsecs = 0.1
env = { CHAOS_ROLE = "crash" }

[companions.steady]
command = "forever"
startsecs = 0.2
env = { CHAOS_ROLE = "steady" }
`;

const TOO_MANY = /too many connections/;

interface LogLine {
  at: number;
  name: string;
  from: string;
  to: string;
  why: string;
}

/** the manager's state-change lines, with their (UTC) timestamps */
function transitions(output: string): LogLine[] {
  const out: LogLine[] = [];
  const re = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) sup\[manager \d+\]: (\S+) ([A-Z]+) -> ([A-Z]+) \((.*)\)$/gm;
  for (const m of output.matchAll(re)) out.push({ at: Date.parse(`${m[1]!.replace(" ", "T")}Z`), name: m[2]!, from: m[3]!, to: m[4]!, why: m[5]! });
  return out;
}

function randomLine(): Buffer {
  const b = Buffer.from(crypto.getRandomValues(new Uint8Array(1 + Math.floor(Math.random() * 160))));
  for (let i = 0; i < b.length; i++) if (b[i] === 10) b[i] = 11;
  return b;
}

/** would the server see a request in this line (not blank after its own decoding)? */
const countsAsRequest = (b: Buffer) => b.toString("utf8").replace(/\r$/, "").trim().length > 0;

export async function clientFlood(opts: FloodOptions): Promise<FloodFigures> {
  const S = "client flood";
  const durationMs = opts.durationMs ?? 3_000;
  const lateLimitMs = opts.lateLimitMs ?? 1_500;
  const statusLimitMs = opts.statusLimitMs ?? 5_000;
  const pipelined = opts.pipelined ?? 60_000;
  const randomConns = Math.max(1, opts.randomConns ?? 4);
  const figures: FloodFigures = {
    waves: 0,
    statusClients: 0,
    answered: 0,
    refused: 0,
    connectRetries: 0,
    connectErrors: {},
    randomLines: 0,
    randomReplies: 0,
    backpressured: 0,
    floodMs: 0,
    restartsDuringFlood: 0,
    restartCountDelta: 0,
    maxRetryLateMs: 0,
    maxStatusDuringFloodMs: 0,
    probesRefused: 0,
    probesUnconnected: 0,
    statusAfterMs: 0,
    managerRssKbBefore: 0,
    managerRssKbPeak: 0,
    managerRssKbAfter: 0,
    managerRssKbSettled: 0,
  };
  const peers = new Set<Peer>();
  const track = (p: Peer) => (peers.add(p), p);
  const onRetry = (e: unknown) => {
    figures.connectRetries++;
    const code = (e as NodeJS.ErrnoException)?.code ?? "other";
    figures.connectErrors[code] = (figures.connectErrors[code] ?? 0) + 1;
  };

  return withFixture(S, FLOOD_TOML, async (f) => {
    await f.start();
    const arbiter = f.proc!.pid;
    await f.waitState("steady", "RUNNING");
    const crash0 = await f.waitEntry("crash", "to have restarted once", (e) => e.restart_count >= 1);
    const steady0 = await f.entry("steady");
    const managers = managersOf(arbiter);
    if (managers.length !== 1) violation(S, "one manager", procList(managers));
    const manager = managers[0]!.pid;
    figures.managerRssKbBefore = rssKb(manager) ?? 0;
    figures.managerRssKbPeak = figures.managerRssKbBefore;

    const problems: string[] = [];
    let stop = false;
    const floodStartWall = Date.now();
    const t0 = performance.now();
    try {
      // memory sampler
      const sampler = (async () => {
        while (!stop) {
          figures.managerRssKbPeak = Math.max(figures.managerRssKbPeak, rssKb(manager) ?? 0);
          await Bun.sleep(50);
        }
      })();
      // status probe: how long does one status take while all this goes on?
      const prober = (async () => {
        while (!stop) {
          const p0 = performance.now();
          try {
            const r = await f.requestLines([JSON.stringify({ cmd: "status" })], 30_000);
            const took = performance.now() - p0;
            if (r[0]?.ok) figures.maxStatusDuringFloodMs = Math.max(figures.maxStatusDuringFloodMs, took);
            else if (TOO_MANY.test(String(r[0]?.error))) figures.probesRefused++;
            else problems.push(`probe reply ${show(r[0])}`);
          } catch (e) {
            // a full listen backlog refuses the connect itself: count it, a client would retry
            const code = (e as NodeJS.ErrnoException).code;
            if (code === "ECONNREFUSED" || code === "EAGAIN" || code === "ECONNRESET") figures.probesUnconnected++;
            else problems.push(`probe failed after ${Math.round(performance.now() - p0)} ms: ${code ?? ""} ${e}`);
          }
          await Bun.sleep(200);
        }
      })();

      // silent clients hold their connections for the whole flood
      const silent = await Promise.all(Array.from({ length: opts.silent }, () => Peer.open(f.socket, { onRetry }).then(track)));
      // non-readers pipeline many requests and never read a reply
      const nonReaders = await Promise.all(Array.from({ length: opts.nonReaders }, () => Peer.open(f.socket, { paused: true, onRetry }).then(track)));
      const batch = '{"cmd":"status"}\n'.repeat(pipelined);
      for (const p of nonReaders) p.write(batch);

      // random bytes over a few connections that do read
      const random = (async () => {
        const per = Math.ceil(opts.randomLines / randomConns);
        await Promise.all(
          Array.from({ length: randomConns }, async (_, i) => {
            const n = Math.max(0, Math.min(per, opts.randomLines - i * per));
            if (!n) return;
            const lines = Array.from({ length: n }, randomLine);
            const expected = lines.filter(countsAsRequest).length;
            figures.randomLines += n;
            const p = track(await Peer.open(f.socket, { onRetry }));
            p.write(Buffer.concat(lines.flatMap((l) => [l, Buffer.from("\n")])));
            await p.until(() => p.lineCount >= expected, 60_000);
            const replies = p.lines();
            figures.randomReplies += replies.length;
            if (replies.length !== expected) problems.push(`random connection ${i}: ${replies.length} replies to ${expected} non-blank lines${p.closed ? " (closed)" : ""}`);
            const bad = replies.find((l) => {
              try {
                const r = JSON.parse(l);
                return !(r.ok === false && r.code === "BAD_REQUEST");
              } catch {
                return true;
              }
            });
            if (bad !== undefined) problems.push(`random connection ${i}: want BAD_REQUEST replies, got ${show(bad, 300)}`);
            p.close();
          }),
        );
      })();

      // over-long lines: an error reply, then the connection is closed
      const overlong = Promise.all(
        Array.from({ length: opts.overlong ?? 1 }, async () => {
          const p = track(await Peer.open(f.socket, { onRetry }));
          p.write(Buffer.alloc(1024 * 1024 + 4096, 0x61));
          const closed = await p.until(() => p.closed, 30_000);
          const r = p.lines()[0];
          if (!closed || !r || !/longer than/.test(r)) problems.push(`over-long line: want an error reply and a close, got ${show(r)} (closed ${p.closed})`);
          p.close();
        }),
      );

      // half a line, then gone
      const half = Promise.all(
        Array.from({ length: opts.halfLine }, async () => {
          const p = track(await Peer.open(f.socket, { onRetry }));
          p.write('{"cmd":"sta');
          await Bun.sleep(0);
          p.close();
        }),
      );

      // waves of concurrent status clients until the time is up
      const statusClient = async () => {
        const p = track(await Peer.open(f.socket, { onRetry }));
        p.write('{"cmd":"status"}\n');
        await p.until(() => p.lineCount >= 1, 30_000);
        const line = p.lines()[0];
        p.close();
        figures.statusClients++;
        if (line === undefined) return void problems.push(`status client: no reply (closed ${p.closed})`);
        let r: Record<string, any>;
        try {
          r = JSON.parse(line);
        } catch {
          return void problems.push(`status client: not JSON: ${show(line, 300)}`);
        }
        if (r.ok === true && Array.isArray(r.companions) && r.companions.map((c: Entry) => c.name).join() === "crash,steady") figures.answered++;
        else if (r.ok === false && TOO_MANY.test(String(r.error))) figures.refused++;
        else problems.push(`status client: want a status or a "too many connections" refusal, got ${show(r, 300)}`);
      };
      do {
        await Promise.all(Array.from({ length: opts.clients }, statusClient));
        figures.waves++;
      } while (performance.now() - t0 < durationMs && problems.length === 0);
      await Promise.all([random, overlong, half]);
      figures.floodMs = performance.now() - t0;

      // the server stopped reading from every non-reader (they still hold unsent requests)
      figures.backpressured = nonReaders.filter((p) => p.unsent > 0).length;
      stop = true;
      await Promise.all([sampler, prober]);
      for (const p of [...silent, ...nonReaders]) p.close();
    } finally {
      stop = true;
      for (const p of peers) p.close();
      peers.clear();
    }
    const floodEndWall = Date.now();
    opts.progress?.(`flood over after ${Math.round(figures.floodMs)} ms, ${figures.waves} wave(s)`);

    if (problems.length) violation(S, "every client answered as the contract says", `${problems.length} problem(s): ${problems.slice(0, 5).join(" | ")}`);
    if (f.exitCode !== null) violation(S, "sup alive after the flood", `exit ${f.exitCode}`);

    // afterwards: status answers promptly, the manager is the same process, steady untouched
    const a0 = performance.now();
    const after = await f.requestLines([JSON.stringify({ cmd: "status" })], statusLimitMs).catch((e) => violation(S, `status within ${statusLimitMs} ms after the flood`, String(e)));
    figures.statusAfterMs = performance.now() - a0;
    figures.managerRssKbAfter = rssKb(manager) ?? 0;
    if (!after[0]?.ok) violation(S, "an ok status after the flood", show(after[0]));
    const now = managersOf(arbiter);
    if (now.length !== 1 || now[0]!.pid !== manager) violation(S, `the same manager ${manager} after the flood`, procList(now));
    const entries = after[0]!.companions as Entry[];
    const steady = entries.find((e) => e.name === "steady")!;
    if (steady.pid !== steady0.pid || steady.state !== "RUNNING") violation(S, `steady untouched (RUNNING, pid ${steady0.pid})`, show(steady));
    const crash = entries.find((e) => e.name === "crash")!;
    figures.restartCountDelta = crash.restart_count - crash0.restart_count;

    // the crashing companion kept being restarted on time during the flood
    const log = transitions(f.output).filter((l) => l.name === "crash" && l.at >= floodStartWall && l.at <= floodEndWall + 50);
    let lastBackoff: number | null = null;
    for (const l of log) {
      if (l.to === "BACKOFF") lastBackoff = l.at;
      if (l.from === "BACKOFF" && l.to === "STARTING") {
        figures.restartsDuringFlood++;
        if (lastBackoff !== null) figures.maxRetryLateMs = Math.max(figures.maxRetryLateMs, l.at - lastBackoff - 200);
      }
    }
    // one cycle is 0.3 s up + 0.2 s backoff (+ spawn): at least half the nominal number of restarts
    const wantRestarts = Math.max(1, Math.floor(figures.floodMs / 500 / 2));
    if (figures.restartsDuringFlood < wantRestarts) violation(S, `at least ${wantRestarts} restarts of crash during the ${Math.round(figures.floodMs)} ms flood`, `${figures.restartsDuringFlood}`);
    if (figures.maxRetryLateMs > lateLimitMs) violation(S, `every retry of crash within ${lateLimitMs} ms of its restart_delay during the flood`, `${Math.round(figures.maxRetryLateMs)} ms late`);
    if (figures.restartCountDelta < figures.restartsDuringFlood) violation(S, `restart_count to grow by at least ${figures.restartsDuringFlood}`, `grew by ${figures.restartCountDelta}`);
    if (figures.maxStatusDuringFloodMs > statusLimitMs) violation(S, `status answered within ${statusLimitMs} ms during the flood`, `${Math.round(figures.maxStatusDuringFloodMs)} ms`);
    const afterLimit = opts.statusAfterLimitMs ?? 1_000;
    if (figures.statusAfterMs > afterLimit) violation(S, `status within ${afterLimit} ms after the flood`, `${Math.round(figures.statusAfterMs)} ms`);
    if (figures.backpressured !== opts.nonReaders) violation(S, `the server to stop reading from all ${opts.nonReaders} non-readers (output backpressure)`, `${figures.backpressured}`);
    // within the cap: nobody may be refused
    const open = opts.silent + opts.nonReaders + randomConns + (opts.overlong ?? 1) + opts.halfLine + opts.clients + 2;
    if (open <= 1024 && figures.refused) violation(S, `no refusal with at most ${open} connections open (cap 1024)`, `${figures.refused} refused`);
    if (!figures.answered) violation(S, "some status clients answered", "none");

    // the connection count came back down: a burst just under the cap is served in full
    const burst = Math.min(opts.clients, 1000);
    await waitFor(
      `a burst of ${burst} status clients served without refusal after the flood`,
      async () => {
        let refused = 0;
        await Promise.all(
          Array.from({ length: burst }, async () => {
            const p = await Peer.open(f.socket, { onRetry });
            try {
              p.write('{"cmd":"status"}\n');
              await p.until(() => p.lineCount >= 1, 10_000);
              if (TOO_MANY.test(p.lines()[0] ?? "")) refused++;
            } finally {
              p.close();
            }
          }),
        );
        return refused;
      },
      (r) => r === 0,
      10_000,
      200,
    ).catch((e) => violation(S, "the connection cap freed after every client closed", String(e)));
    if (opts.settleMs) {
      await Bun.sleep(opts.settleMs); // a measurement over time, not a synchronisation
      figures.managerRssKbSettled = rssKb(manager) ?? 0;
    }
    return figures;
  });
}

export interface OverCapFigures {
  /** connections held open (the cap) */
  held: number;
  /** concurrent clients above the cap */
  extra: number;
  /** ... that got the clear "too many connections" reply */
  refusedClearly: number;
  /** ... whose connect failed instead (by error code) */
  connectErrors: Record<string, number>;
}

/**
 * Hold the cap's worth of connections, then send `extra` clients at once: each must get the
 * clear "too many connections" reply (not a reset), and the slots come back once all close.
 */
export async function overCapRefusal(opts: { extra: number; cap?: number }): Promise<OverCapFigures> {
  const S = "over the connection cap";
  const cap = opts.cap ?? 1024;
  const figures: OverCapFigures = { held: 0, extra: opts.extra, refusedClearly: 0, connectErrors: {} };
  return withFixture(S, FLOOD_TOML, async (f) => {
    await f.start();
    const held: Peer[] = [];
    try {
      for (let i = 0; i < cap; i++) held.push(await Peer.open(f.socket));
      figures.held = held.length;
      // one more, alone: the refusal (also proves the cap is reached)
      const probe = await Peer.open(f.socket);
      probe.write('{"cmd":"status"}\n');
      await probe.until(() => probe.lineCount >= 1, 10_000);
      probe.close();
      if (!TOO_MANY.test(probe.text)) violation(S, `a "too many connections" reply with ${cap} connections open`, show(probe.text || "no reply"));
      const refusedHeld = held.filter((p) => p.text.length > 0).length;
      if (refusedHeld) violation(S, `all ${cap} held connections accepted`, `${refusedHeld} got a reply (refused)`);
      const results = await Promise.all(
        Array.from({ length: opts.extra }, async () => {
          let p: Peer;
          try {
            p = await Peer.open(f.socket, { attempts: 1 });
          } catch (e) {
            return `connect ${/last: (\S+)/.exec(String(e))?.[1] ?? String(e)}`;
          }
          p.write('{"cmd":"status"}\n');
          await p.until(() => p.lineCount >= 1, 10_000);
          p.close();
          return TOO_MANY.test(p.text) ? "refused" : `reply ${show(p.text || "(closed without reply)", 200)}`;
        }),
      );
      for (const r of results) {
        if (r === "refused") figures.refusedClearly++;
        else figures.connectErrors[r] = (figures.connectErrors[r] ?? 0) + 1;
      }
    } finally {
      for (const p of held) p.close();
    }
    await waitFor("status to be served once the held connections closed", () => tryStatus(f), (e) => e !== null, 10_000).catch(() =>
      violation(S, "a status reply once every held connection closed", "none in 10 s"),
    );
    if (figures.refusedClearly !== opts.extra) {
      violation(S, `all ${opts.extra} clients above the cap refused with "too many connections"`, `${figures.refusedClearly} refused clearly; others: ${show(figures.connectErrors)}`);
    }
    return figures;
  });
}

// ---------------------------------------------------------------- e. bad config at reload

export type BadConfigCase = "deleted" | "empty" | "broken" | "unknown-key" | "bad-value";

export const ALL_BAD_CONFIGS: BadConfigCase[] = ["deleted", "empty", "broken", "unknown-key", "bad-value"];

/** how to break the file, and what the manager's log line about it must say */
const BREAK: Record<BadConfigCase, { apply: (file: string, good: string) => void; logs: RegExp }> = {
  deleted: { apply: (file) => unlinkSync(file), logs: /cannot read config: no such file/ },
  empty: { apply: (file) => writeFileSync(file, ""), logs: /empty|no companions/i },
  broken: { apply: (file, good) => writeFileSync(file, good.replace("[companions.plain]", "[companions.plain\n")), logs: /invalid TOML/ },
  "unknown-key": { apply: (file, good) => writeFileSync(file, good.replace('command = "forever"', 'command = "forever"\nstop_sigal = "SIGTERM"')), logs: /companions\.plain\.stop_sigal: unknown key/ },
  "bad-value": { apply: (file, good) => writeFileSync(file, good.replace("startsecs = 0.2", 'startsecs = "soon"')), logs: /defaults\.startsecs: must be a number/ },
};

export interface BadConfigFigures {
  cases: number;
  /** SIGHUPs and rereads answered "kept old config" */
  rejected: number;
  /** longest SIGHUP -> the manager logged the problem */
  maxLogMs: number;
  leftovers: number;
}

export async function badConfigReload(opts: { cases?: BadConfigCase[] } = {}): Promise<BadConfigFigures> {
  const S = "bad config at reload";
  const cases = opts.cases ?? ALL_BAD_CONFIGS.filter((c) => c !== "empty");
  const names = TRIO_SHAPES.map((s) => s.name);
  const figures: BadConfigFigures = { cases: 0, rejected: 0, maxLogMs: 0, leftovers: 0 };
  return withFixture(S, TRIO, async (f) => {
    await f.start();
    const arbiter = f.proc!.pid;
    const good = readFileSync(f.config, "utf8");
    const entries0 = await waitRunning(f, names, 15_000);
    const before = snapshot(f, arbiter, entries0);
    const count = (re: RegExp) => (f.output.match(new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`)) ?? []).length;
    const same = async (when: string) => {
      const e = await tryStatus(f);
      if (!allRunning(e, names)) violation(S, `every companion RUNNING ${when}`, show(e));
      const now = snapshot(f, arbiter, e);
      if (JSON.stringify(now) !== JSON.stringify(before)) violation(S, `every pid unchanged ${when}: ${show(before)}`, show(now));
    };
    const applied = /reread: added \[(.*?)\] removed \[(.*?)\] restarted \[(.*?)\] unchanged (\d+)/g;

    for (const c of cases) {
      const { apply, logs } = BREAK[c];
      apply(f.config, good);
      // SIGHUP: the manager logs the problem and changes nothing
      const invalid0 = count(/reread: config invalid, nothing changed/);
      const applied0 = count(applied);
      const problem0 = count(new RegExp(`reread: .*(${logs.source})`, logs.flags));
      const t0 = performance.now();
      f.signal("SIGHUP");
      const out = await waitFor(
        `the manager to log the ${c} config after SIGHUP`,
        () => ({ invalid: count(/reread: config invalid, nothing changed/), applied: count(applied) }),
        (o) => o.invalid > invalid0 || o.applied > applied0,
        10_000,
      ).catch(() => violation(S, `a log line about the ${c} config after SIGHUP`, show(f.output.slice(-1500))));
      figures.maxLogMs = Math.max(figures.maxLogMs, performance.now() - t0);
      if (out.applied > applied0) {
        const last = [...f.output.matchAll(applied)].at(-1)?.[0];
        violation(S, `the ${c} config rejected on SIGHUP, every companion kept`, `it was applied: "${last}"`);
      }
      if (count(new RegExp(`reread: .*(${logs.source})`, logs.flags)) <= problem0) violation(S, `the manager to log the problem of the ${c} config (${logs})`, show(f.output.slice(-1500)));
      await same(`after SIGHUP with the ${c} config`);
      figures.rejected++;

      // reread: refused, kept_old_config
      const r = await f.request({ cmd: "reread" });
      if (!(r.ok === false && r.kept_old_config === true && r.code === "INVALID_CONFIG" && /^invalid config: /.test(String(r.error)) && logs.test(String(r.error)))) {
        violation(S, `reread with the ${c} config: {ok:false, kept_old_config:true, code:INVALID_CONFIG, error "invalid config: …" matching ${logs}}`, show(r));
      }
      await same(`after reread with the ${c} config`);
      figures.rejected++;

      // the good file back: a reread changes nothing either
      writeFileSync(f.config, good);
      const ok = await f.request({ cmd: "reread" });
      if (!(ok.ok === true && ok.added?.length === 0 && ok.removed?.length === 0 && ok.restarted?.length === 0 && ok.unchanged?.length === 3)) {
        violation(S, "reread of the restored config: nothing added, removed or restarted, 3 unchanged", show(ok));
      }
      await same(`after restoring the config (${c})`);
      figures.cases++;
    }
    return figures;
  });
}

// ---------------------------------------------------------------- f. out of file descriptors

export interface FdExhaustionFigures {
  /** manager kills while the manager was at its fd limit */
  rounds: number;
  /** extra kills of a manager still starting up (spawning up to the limit) */
  startupKills: number;
  /** fewest / most companions RUNNING at the limit (after a recovery) */
  minRunning: number;
  maxRunning: number;
  /** companions in BACKOFF for want of fds, at the last look */
  backoff: number;
  /** processes of an earlier generation found alive after a recovery (a violation if > 0) */
  leftovers: number;
  /** zombies of the arbiter still there 1 s after a recovery (a violation if > 0) */
  zombies: number;
  /** kill -> status answers again with companions RUNNING under the new manager */
  maxRecoveryMs: number;
}

export interface FdExhaustionOptions {
  rounds: number;
  /** sleep companions (default 100) */
  companions?: number;
  /** `ulimit -n` for sup (soft and hard; default 64) */
  nofile?: number;
  /** every Nth round also kills the next manager while it starts up (0: never) */
  startupKillEvery?: number;
  recoveryLimitMs?: number;
}

/**
 * `ulimit -n 64` and 100 companions: sup runs what fits and keeps the rest in BACKOFF ("too
 * many open files", never FATAL). Kill the manager a few times while it sits at that limit:
 * each time the new manager answers, runs what fits again, nothing of the old generation
 * survives, and the arbiter (at the same limit) leaves no zombie.
 */
export async function fdExhaustion(opts: FdExhaustionOptions): Promise<FdExhaustionFigures> {
  const S = "out of file descriptors";
  const n = opts.companions ?? 100;
  const nofile = opts.nofile ?? 64;
  const limit = opts.recoveryLimitMs ?? 20_000;
  const names = Array.from({ length: n }, (_, i) => `fd${String(i).padStart(3, "0")}`);
  const toml = `
[defaults]
startsecs = 0
restart_delay = 0.2
max_restart_delay = 1
stop_timeout = 5
env = { CHAOS_ROLE = "fd" }
${names.map((x) => `\n[companions.${x}]\ncommand = "sleep 100000"\n`).join("")}`;
  const figures: FdExhaustionFigures = { rounds: 0, startupKills: 0, minRunning: Infinity, maxRunning: 0, backoff: 0, leftovers: 0, zombies: 0, maxRecoveryMs: 0 };
  const counts = (entries: Entry[]) => ({
    running: entries.filter((e) => e.state === "RUNNING").length,
    backoff: entries.filter((e) => e.state === "BACKOFF").length,
    fatal: entries.filter((e) => e.state === "FATAL"),
  });
  return withFixture(S, toml, async (f) => {
    await f.start({ argv: ["sh", "-c", `ulimit -n ${nofile} && exec "${SUP}" run -c "${f.config}"`], env: { SUP_RESPAWN_MIN_MS: "50", SUP_RESPAWN_MAX_MS: "200" } });
    const arbiter = f.proc!.pid;
    const atLimit = (e: Entry[] | null): e is Entry[] => {
      if (!e || e.length !== n) return false;
      const c = counts(e);
      return c.running > 0 && c.backoff > 0 && c.fatal.length === 0;
    };
    let entries = (await waitFor("companions RUNNING and BACKOFF at the fd limit", () => tryStatus(f), atLimit, limit).catch(async () =>
      violation(S, `some of ${n} companions RUNNING and the rest in BACKOFF under ulimit -n ${nofile}`, show(await tryStatus(f))),
    )) as Entry[];
    const tooMany = entries.find((e) => e.state === "BACKOFF" && !/too many open files/.test(e.description));
    if (tooMany) violation(S, 'BACKOFF for want of fds described as "too many open files"', show(tooMany));
    let manager = managersOf(arbiter)[0]?.pid;
    if (!manager) violation(S, "one manager at start", procList(managersOf(arbiter)));
    const seen = new Set<string>();
    const earlier = new Set<string>();
    const note = () => {
      for (const p of taggedCensus(f.mark)) if (p.pid !== arbiter) seen.add(identity(p));
    };

    for (let round = 1; round <= opts.rounds; round++) {
      note();
      for (const id of seen) earlier.add(id);
      const before = new Set<number | null>(entries.map((e) => e.pid).filter((p) => p !== null));
      const t0 = performance.now();
      process.kill(manager!, "SIGKILL");
      if (opts.startupKillEvery && round % opts.startupKillEvery === 0) {
        // kill the next manager too, at a random moment of its start-up (spawning up to the limit)
        const next = await waitFor("a new manager process", () => managersOf(arbiter), (m) => m.length === 1 && m[0]!.pid !== manager, limit, 2).catch(() => null);
        if (!next) violation(S, `a new manager within ${limit} ms of killing ${manager}`, `managers ${procList(managersOf(arbiter))}`);
        await Bun.sleep(Math.random() * 300); // chaos timing, not synchronisation
        note();
        for (const id of seen) earlier.add(id);
        try {
          process.kill(next[0]!.pid, "SIGKILL");
          figures.startupKills++;
          manager = next[0]!.pid;
        } catch {}
      }
      entries = (await waitFor(
        `recovery from killing manager ${manager} at the fd limit (round ${round})`,
        async () => {
          const m = managersOf(arbiter);
          if (m.length !== 1 || m[0]!.pid === manager) return null;
          return tryStatus(f);
        },
        (e) => atLimit(e) && e.every((x) => x.state !== "RUNNING" || !before.has(x.pid)),
        limit,
        20,
      ).catch(async (err) => violation(S, `status with companions RUNNING (new pids) and BACKOFF, none FATAL, within ${limit} ms (round ${round})`, `${(err as Error).message}; managers ${procList(managersOf(arbiter))}`))) as Entry[];
      const took = performance.now() - t0;
      figures.maxRecoveryMs = Math.max(figures.maxRecoveryMs, took);
      if (f.exitCode !== null) violation(S, "the arbiter alive", `sup run exited with ${f.exitCode}; output tail: ${show(f.output.slice(-1500))}`);
      const managers = managersOf(arbiter);
      if (managers.length !== 1) violation(S, `exactly one manager after round ${round}`, procList(managers));
      manager = managers[0]!.pid;
      // nothing of an earlier generation survived
      const stale = taggedCensus(f.mark).filter((p) => p.pid !== arbiter && earlier.has(identity(p)));
      if (stale.length) {
        figures.leftovers += stale.length;
        violation(S, `no process of an earlier generation alive after round ${round}`, procList(stale));
      }
      // one process per companion with a pid, no other (polled: spawns go on in BACKOFF retries)
      let problem = "";
      await waitFor(
        "one process per companion with a pid",
        async () => {
          const e = (await tryStatus(f)) ?? entries;
          const pids = new Set(e.map((x) => x.pid).filter((p) => p !== null));
          const procs = censusByTag(f.mark).get("fd") ?? [];
          const strays = procs.filter((p) => !pids.has(p.pid));
          problem = strays.length ? `processes no entry names: ${procList(strays)}` : "";
          return problem;
        },
        (p) => p === "",
        3_000,
      ).catch(() => violation(S, `each companion's process named by its entry after round ${round}`, problem));
      const z = await waitFor("no zombie child of the arbiter", () => zombiesOf(arbiter), (l) => l.length === 0, 1_000).catch(() => zombiesOf(arbiter));
      if (z.length) {
        figures.zombies += z.length;
        violation(S, `no zombie whose parent is the arbiter ${arbiter} after round ${round}`, procList(z));
      }
      const c = counts(entries);
      figures.minRunning = Math.min(figures.minRunning, c.running);
      figures.maxRunning = Math.max(figures.maxRunning, c.running);
      figures.backoff = c.backoff;
      figures.rounds = round;
    }
    if (figures.minRunning === Infinity) figures.minRunning = 0;
    f.signal("SIGTERM");
    const code = await f.waitExit(20_000).catch((e) => violation(S, "sup run to exit after SIGTERM", String(e)));
    if (code !== 0) violation(S, "exit 0 after SIGTERM", `exit ${code}`);
    return figures;
  });
}

// ---------------------------------------------------------------- g. the manager's binary removed

export interface BinaryRemovedFigures {
  rounds: number;
  /** "cannot spawn the manager" lines logged (retries while the binary was away) */
  spawnFailures: number;
  /** processes of an earlier generation found alive (a violation if > 0) */
  leftovers: number;
  zombies: number;
  /** binary restored -> every companion RUNNING under a new manager */
  maxRecoveryMs: number;
}

/**
 * Run the manager from a copy of the binary (SUP_MANAGER_EXE), move the copy away, kill the
 * manager: the arbiter stops the dead manager's companions, logs and retries the failed spawn
 * and stays alive; the copy back, a manager comes up and runs each companion once. Repeated.
 */
export async function binaryRemoved(opts: { rounds: number; recoveryLimitMs?: number }): Promise<BinaryRemovedFigures> {
  const S = "manager binary removed";
  const names = TRIO_SHAPES.map((s) => s.name);
  const limit = opts.recoveryLimitMs ?? 20_000;
  const figures: BinaryRemovedFigures = { rounds: 0, spawnFailures: 0, leftovers: 0, zombies: 0, maxRecoveryMs: 0 };
  const failures = (f: SupFixture) => (f.output.match(/cannot spawn the manager \(/g) ?? []).length;
  return withFixture(S, TRIO, async (f) => {
    const copy = f.path("sup-copy");
    const away = f.path("sup-away");
    copyFileSync(SUP, copy);
    chmodSync(copy, 0o755);
    await f.start({ env: { SUP_MANAGER_EXE: copy, SUP_RESPAWN_MIN_MS: "50", SUP_RESPAWN_MAX_MS: "200" } });
    const arbiter = f.proc!.pid;
    let entries = await waitRunning(f, names, limit);
    const seen = new Set<string>();
    for (let round = 1; round <= opts.rounds; round++) {
      await slowReady(f, S, entries, `before round ${round}`);
      for (const p of taggedCensus(f.mark)) if (p.pid !== arbiter) seen.add(identity(p));
      const managers = managersOf(arbiter);
      if (managers.length !== 1) violation(S, `one manager before round ${round}`, procList(managers));
      const before = new Map(entries.map((e) => [e.name, e.pid]));
      const failed0 = failures(f);
      renameSync(copy, away);
      process.kill(managers[0]!.pid, "SIGKILL");
      // the spawn fails, is logged and retried; sup stays up with nothing of the old generation
      await waitFor("two failed spawns logged", () => failures(f), (k) => k >= failed0 + 2, limit).catch(() =>
        violation(S, `"cannot spawn the manager (${copy})" logged and retried after the binary was moved away (round ${round})`, show(f.output.slice(-1500))),
      );
      if (f.exitCode !== null) violation(S, "sup run alive while the manager cannot be spawned", `exit ${f.exitCode}`);
      const left = await waitFor("nothing but the arbiter left", () => taggedCensus(f.mark).filter((p) => p.pid !== arbiter), (l) => l.length === 0, limit).catch(() =>
        taggedCensus(f.mark).filter((p) => p.pid !== arbiter),
      );
      if (left.length) {
        figures.leftovers += left.length;
        violation(S, `no companion or manager alive while the manager cannot be spawned (round ${round})`, procList(left));
      }
      const z = await waitFor("no zombie child of the arbiter", () => zombiesOf(arbiter), (l) => l.length === 0, 1_000).catch(() => zombiesOf(arbiter));
      if (z.length) {
        figures.zombies += z.length;
        violation(S, `no zombie whose parent is the arbiter ${arbiter} while the manager cannot be spawned (round ${round})`, procList(z));
      }
      // the binary back: recovery
      renameSync(away, copy);
      const t0 = performance.now();
      entries = (await waitFor(`every companion RUNNING with a new pid (round ${round})`, () => tryStatus(f), (e) => allRunning(e, names) && e.every((x) => x.pid !== before.get(x.name)), limit).catch(() =>
        violation(S, `every companion RUNNING under a new manager within ${limit} ms of restoring the binary (round ${round})`, show(f.output.slice(-1500))),
      )) as Entry[];
      figures.maxRecoveryMs = Math.max(figures.maxRecoveryMs, performance.now() - t0);
      const stale = taggedCensus(f.mark).filter((p) => p.pid !== arbiter && seen.has(identity(p)));
      if (stale.length) {
        figures.leftovers += stale.length;
        violation(S, `no process of an earlier generation alive after round ${round}`, procList(stale));
      }
      let problem: string | null = null;
      await waitFor("one instance of each companion", async () => (problem = shapeProblem(TRIO_SHAPES, (await tryStatus(f)) ?? entries, censusByTag(f.mark))), (p) => p === null, 2_000).catch(() =>
        violation(S, `exactly one instance of each companion after round ${round}`, problem ?? "?"),
      );
      if (managersOf(arbiter).length !== 1) violation(S, `one manager after round ${round}`, procList(managersOf(arbiter)));
      figures.rounds = round;
    }
    figures.spawnFailures = failures(f);
    f.signal("SIGTERM");
    const code = await f.waitExit(20_000).catch((e) => violation(S, "sup run to exit after SIGTERM", String(e)));
    if (code !== 0) violation(S, "exit 0 after SIGTERM", `exit ${code}`);
    return figures;
  });
}
