// The benchmark scenarios A-I and R. Each is one function over the Peer/Instance interface; peers run
// alternately (order flipped every rep) on the same machine in the same run.
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CompanionDef, Entry, Instance, Peer, Settings } from "./adapters.ts";
import { census, CpuMeter, memory, meterSleep, NewChildWatch, readStat, type Stat } from "./procfs.ts";
import type { Sample, Summary, Target } from "./stats.ts";

export interface Plan {
  quick: boolean;
  A: { ns: number[]; startsecs: number[]; reps: number };
  B: { ns: number[]; reps: number; windowS: number; settleS: number };
  C: { kills: number; reps: number };
  D: { ns: number[]; calls: number; reps: number };
  E: { n: number; reps: number };
  F: { mib: number; reps: number; lineBytes: number };
  G: { windowS: number; reps: number };
  H: { descendants: number; setsid: number; reps: number };
  I: { n: number; cycles: number; reps: number };
  R: { n: number; interval: number; maxDelayS: number; reps: number; windowS: number; settleS: number };
}

export function plan(quick: boolean): Plan {
  return quick
    ? {
        quick,
        A: { ns: [100, 500], startsecs: [0, 1], reps: 2 },
        B: { ns: [100, 1000], reps: 1, windowS: 10, settleS: 10 },
        C: { kills: 10, reps: 1 },
        D: { ns: [100, 1000], calls: 10, reps: 1 },
        E: { n: 10, reps: 1 },
        F: { mib: 50, reps: 1, lineBytes: 100 },
        G: { windowS: 10, reps: 1 },
        H: { descendants: 100, setsid: 10, reps: 1 },
        I: { n: 100, cycles: 1, reps: 1 },
        R: { n: 100, interval: 0.2, maxDelayS: 1, reps: 1, windowS: 10, settleS: 5 },
      }
    : {
        quick,
        A: { ns: [100, 500, 1000], startsecs: [0, 1], reps: 3 },
        B: { ns: [100, 1000], reps: 3, windowS: 30, settleS: 15 },
        C: { kills: 20, reps: 3 },
        D: { ns: [100, 1000], calls: 20, reps: 3 },
        E: { n: 50, reps: 3 },
        F: { mib: 200, reps: 3, lineBytes: 100 },
        G: { windowS: 20, reps: 3 },
        H: { descendants: 100, setsid: 10, reps: 3 },
        I: { n: 100, cycles: 2, reps: 3 },
        R: { n: 100, interval: 0.2, maxDelayS: 1, reps: 5, windowS: 30, settleS: 10 },
      };
}

export interface Ctx {
  plan: Plan;
  peers: Peer[];
  /** a folder for this run's temp dirs */
  tmp: string;
  add(s: Sample): void;
  error(scenario: string, peer: string, what: string, e: unknown): void;
  note(scenario: string, text: string): void;
  log(msg: string): void;
}

export interface Scenario {
  id: string;
  title: string;
  run(ctx: Ctx): Promise<void>;
}

// ---------------------------------------------------------------- shared pieces

const SLEEP: string[] = [Bun.which("sleep") ?? "/bin/sleep", "100000"];
const SH = Bun.which("sh") ?? "/bin/sh";

export const DEFAULTS: Settings = { startsecs: 0, restartDelay: 0, stopTimeout: 10, autorestart: true, startretries: null };

function names(n: number, make: (name: string) => Omit<CompanionDef, "name">): CompanionDef[] {
  const w = String(n).length;
  return Array.from({ length: n }, (_, i) => ({ name: `c${String(i + 1).padStart(w, "0")}`, ...make(`c${i + 1}`) }));
}

const sleepers = (n: number) => names(n, () => ({ argv: SLEEP }));

/** run fn for every rep and every peer, alternating which peer goes first */
async function alternate(ctx: Ctx, reps: number, fn: (peer: Peer, rep: number) => Promise<void>): Promise<void> {
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? ctx.peers : [...ctx.peers].reverse();
    for (const p of order) await fn(p, rep);
  }
}

/** start, run fn, always tear down; an error is recorded and the scenario goes on */
async function withInstance(ctx: Ctx, scenario: string, peer: Peer, what: string, companions: CompanionDef[], settings: Settings, fn: (i: Instance) => Promise<void>, opts: { oneGroup?: boolean; env?: Record<string, string> } = {}): Promise<void> {
  const dir = mkdtempSync(join(ctx.tmp, `${peer.id}-${scenario}-`));
  let inst: Instance | null = null;
  try {
    inst = await peer.start({ dir, companions, settings, oneGroup: opts.oneGroup, env: opts.env });
    await fn(inst);
  } catch (e) {
    const tail = inst && "logTail" in inst ? `\n--- ${peer.id} log tail ---\n${(inst as unknown as { logTail(): string }).logTail()}` : "";
    ctx.error(scenario, peer.id, what, `${(e as Error)?.stack ?? e}${tail}`);
  } finally {
    if (inst) {
      const t = await inst.teardown();
      if (t.stopMs > 2000) ctx.log(`${scenario} ${what} ${peer.id}: teardown (SIGTERM -> exit) took ${(t.stopMs / 1000).toFixed(1)} s`);
      if (t.forced) {
        // sup must stop within its budget; a peer that does not is a finding, not a failed run
        const msg = `did not exit within 20 s of SIGTERM at teardown; SIGKILLed it and ${t.leftovers} process(es) it left`;
        if (peer.family === "sup") ctx.error(scenario, peer.id, what, msg);
        else ctx.note(scenario, `${peer.id} ${what}: ${msg}`);
      } else if (t.leftovers) ctx.error(scenario, peer.id, what, `${t.leftovers} process(es) with the run's marker were still alive after the supervisor exited on its own (killed)`);
    } else rmSync(dir, { recursive: true, force: true });
  }
}

function countStates(list: Entry[]): string {
  const m = new Map<string, number>();
  for (const e of list) m.set(e.state, (m.get(e.state) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k}=${v}`).join(" ") || "(none)";
}

/** poll status (gap ms between replies) until every one of n entries satisfies ok */
async function waitAll(inst: Instance, n: number, ok: (e: Entry) => boolean, timeoutMs: number, gapMs = 10): Promise<{ at: number; polls: number; firstReply: number | null }> {
  const deadline = performance.now() + timeoutMs;
  let polls = 0;
  let firstReply: number | null = null;
  let last: Entry[] | null = null;
  let lastErr: unknown = null;
  while (performance.now() < deadline) {
    try {
      const list = await inst.states(Math.max(100, Math.min(10_000, deadline - performance.now())));
      const at = performance.now();
      polls++;
      firstReply ??= at;
      last = list;
      if (list.length === n && list.every(ok)) return { at, polls, firstReply };
    } catch (e) {
      lastErr = e;
      if (inst.exited()) break;
    }
    await Bun.sleep(gapMs);
  }
  throw new Error(`${inst.peer}: not all ${n} companions ready within ${timeoutMs} ms (exited: ${inst.exited()}); last status: ${last ? countStates(last) : `none (${(lastErr as Error)?.message ?? lastErr})`}`);
}

const running = (e: Entry) => e.state === "RUNNING" && e.pid !== null;

function settingsLine(ctx: Ctx, scenario: string, s: Settings, extra = ""): void {
  for (const p of ctx.peers) ctx.note(scenario, `${p.id}: ${p.spell(s)}${extra}`);
}

// ---------------------------------------------------------------- A. cold start

const coldStart: Scenario = {
  id: "A",
  title: "Cold start: launch -> status shows all RUNNING",
  async run(ctx) {
    const { ns, startsecs, reps } = ctx.plan.A;
    for (const ss of startsecs) settingsLine(ctx, "A", { ...DEFAULTS, startsecs: ss });
    ctx.note("A", `companions: ${SLEEP.join(" ")}; status polled over the fast path (sup socket / supervisord XML-RPC) with 10 ms between replies`);
    for (const n of ns)
      for (const ss of startsecs) {
        const kase = `N=${n} startsecs=${ss}`;
        await alternate(ctx, reps, (peer, rep) =>
          withInstance(ctx, "A", peer, kase, sleepers(n), { ...DEFAULTS, startsecs: ss }, async (inst) => {
            const r = await waitAll(inst, n, running, 30_000 + n * 60);
            const value = (r.at - inst.launchedAt) / 1000;
            const ms = inst.milestones();
            ctx.add({ scenario: "A", case: kase, metric: "launch -> all RUNNING", unit: "s", peer: peer.id, rep, value, detail: { polls: r.polls, firstReplyS: r.firstReply === null ? null : (r.firstReply - inst.launchedAt) / 1000, milestonesMs: ms } });
            ctx.log(`A ${kase} ${peer.id} rep ${rep}: ${value.toFixed(3)} s (first status reply at ${(((r.firstReply ?? 0) - inst.launchedAt) / 1000).toFixed(3)} s, ${r.polls} polls; from its log, ms after launch: ${Object.entries(ms).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")})`);
          }),
        );
      }
  },
};

// ---------------------------------------------------------------- B. idle cost

const idleCost: Scenario = {
  id: "B",
  title: "Idle cost: RSS/PSS and CPU of the supervisor's own processes",
  async run(ctx) {
    const { ns, reps, windowS, settleS } = ctx.plan.B;
    settingsLine(ctx, "B", DEFAULTS);
    ctx.note("B", `all RUNNING, then ${settleS} s settle, then CPU over ${windowS} s, reported per 30 s: "idle CPU" = run time of every thread from /proc/PID/task/TID/schedstat (ns, sampled every 250 ms so exiting GC threads count); "(stat ticks)" = utime+stime from /proc/PID/stat, truncated to 10 ms ticks per process, too coarse for a 20 ms target; memory from /proc/PID/smaps_rollup at the end (sup: arbiter + manager; supervisord: its one process). PSS shares a file page among every process that maps it, so the sup binary is a private snapshot (no other sup on the machine shares its pages) and "PSS anon" is shown apart. Nothing polls the supervisor during the window.`);
    for (const n of ns)
      await alternate(ctx, reps, (peer, rep) =>
        withInstance(ctx, "B", peer, `N=${n}`, sleepers(n), DEFAULTS, async (inst) => {
          await waitAll(inst, n, running, 30_000 + n * 60, 50);
          await Bun.sleep(settleS * 1000);
          const pids = inst.ownPids();
          const meter = new CpuMeter(pids);
          await meterSleep(meter, windowS * 1000);
          const cpuM = meter.stop();
          const wall = cpuM.wallS;
          const alive = pids.filter((p) => readStat(p) !== null);
          if (alive.length !== pids.length) throw new Error(`supervisor process(es) ${pids.filter((p) => !alive.includes(p))} vanished during the idle window`);
          const mems = pids.map((p) => ({ pid: p, ...memory(p) }));
          const rss = mems.reduce((a, m) => a + (m.rssKb ?? 0), 0) / 1024;
          const pss = mems.reduce((a, m) => a + (m.pssKb ?? 0), 0) / 1024;
          const kase = `N=${n}`;
          ctx.add({ scenario: "B", case: kase, metric: "idle CPU per 30 s", unit: "s", peer: peer.id, rep, value: (cpuM.schedS * 30) / wall, detail: { ...cpuM, pids } });
          ctx.add({ scenario: "B", case: kase, metric: "idle CPU per 30 s (stat ticks)", unit: "s", peer: peer.id, rep, value: (cpuM.statS * 30) / wall, detail: { ...cpuM, pids } });
          ctx.add({ scenario: "B", case: kase, metric: "PSS (own processes)", unit: "MB", peer: peer.id, rep, value: pss, detail: { mems } });
          ctx.add({ scenario: "B", case: kase, metric: "RSS (own processes)", unit: "MB", peer: peer.id, rep, value: rss, detail: { mems } });
          ctx.add({ scenario: "B", case: kase, metric: "PSS anon (heap etc.)", unit: "MB", peer: peer.id, rep, value: mems.reduce((a, m) => a + (m.pssAnonKb ?? 0), 0) / 1024 });
          ctx.log(`B ${kase} ${peer.id} rep ${rep}: CPU ${(cpuM.schedS * 1000).toFixed(1)} ms (schedstat) / ${(cpuM.statS * 1000).toFixed(0)} ms (stat ticks) in ${wall.toFixed(1)} s (${Object.entries(cpuM.perPidS).map(([p, v]) => `${p}: ${(v * 1000).toFixed(1)} ms`).join(", ")}); PSS ${pss.toFixed(1)} MB RSS ${rss.toFixed(1)} MB (${mems.map((m) => `${m.pid}: pss ${((m.pssKb ?? 0) / 1024).toFixed(1)} = anon ${((m.pssAnonKb ?? 0) / 1024).toFixed(1)} + file ${((m.pssFileKb ?? 0) / 1024).toFixed(1)}`).join(", ")})`);
        }),
      );
  },
};

// ---------------------------------------------------------------- C. restart latency

const restartLatency: Scenario = {
  id: "C",
  title: "Restart latency: kill -9 of a child -> new pid alive",
  async run(ctx) {
    const { kills, reps } = ctx.plan.C;
    const s: Settings = { ...DEFAULTS, startsecs: 0, restartDelay: 0, startretries: 1000 };
    settingsLine(ctx, "C", s);
    ctx.note("C", `one companion (${SLEEP.join(" ")}); the new pid is found by busy-polling /proc/sys/kernel/ns_last_pid and /proc/PID/stat of new pids (child of the supervisor, exec'd, not a zombie), not by the status command; between kills: status shows the new pid RUNNING, then 50 ms`);
    const comm = SLEEP[0]!.split("/").pop()!;
    await alternate(ctx, reps, (peer, rep) =>
      withInstance(ctx, "C", peer, "restart_delay=0", sleepers(1), s, async (inst) => {
        await waitAll(inst, 1, running, 15_000);
        let cur = (await inst.states())[0]!;
        const parent = inst.childParent();
        const samples: number[] = [];
        for (let k = 0; k < kills; k++) {
          const old = cur.pid!;
          const watch = new NewChildWatch(parent, comm, new Set([old]));
          const t0 = performance.now();
          process.kill(old, "SIGKILL");
          const deadline = t0 + 10_000;
          let pid: number | null = null;
          while (pid === null && performance.now() < deadline) pid = watch.poll();
          const t1 = performance.now();
          if (pid === null) throw new Error(`${peer.id}: no new child within 10 s of kill -9 ${old}`);
          const ms = t1 - t0;
          samples.push(ms);
          ctx.add({ scenario: "C", case: "restart_delay=0", metric: "kill -9 -> new pid alive", unit: "ms", peer: peer.id, rep, value: ms, detail: { old, new: pid } });
          await waitAll(inst, 1, (e) => running(e) && e.pid === pid, 15_000, 5);
          cur = (await inst.states())[0]!;
          await Bun.sleep(50);
        }
        const sorted = [...samples].sort((a, b) => a - b);
        ctx.log(`C ${peer.id} rep ${rep}: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, max ${sorted[sorted.length - 1]!.toFixed(2)} ms`);
      }),
    );
  },
};

// ---------------------------------------------------------------- D. control round trip

const roundTrip: Scenario = {
  id: "D",
  title: "Control round trip: status via the CLI (process spawn included) and raw",
  async run(ctx) {
    const { ns, calls, reps } = ctx.plan.D;
    settingsLine(ctx, "D", DEFAULTS);
    ctx.note("D", `"1.1 s apart": the same calls, each 1.1 s after the previous one (sup reuses its per-tree samples of processes/CPU/RSS for 1 s, so a burst pays for one sample; these pay for a fresh one each).`);
    ctx.note("D", `CLI: \`sup ctl -c FILE status\` / \`supervisorctl -c FILE status\` (table output, stdout read to the end); raw: one status request on a new connection (sup: NDJSON over its socket; supervisord: XML-RPC supervisor.getAllProcessInfo over its unix socket, Connection: close). 1 warm-up call each, not counted. "CLI start-up floor": \`sup --version\` / \`supervisorctl -h\` (no server contact). A peer slower than ${ctx.plan.quick ? 4 : 15} s per series stops after 5 calls.`);
    for (const n of ns)
      await alternate(ctx, reps, (peer, rep) =>
        withInstance(ctx, "D", peer, `N=${n}`, sleepers(n), DEFAULTS, async (inst) => {
          await waitAll(inst, n, running, 30_000 + n * 60, 50);
          await Bun.sleep(500);
          for (let i = 0; i < 1; i++) {
            await inst.ctlStatusMs();
            await inst.rawStatusMs();
          }
          // a peer that needs seconds per call gets fewer samples (at least 5), so the run stays bounded
          const budgetMs = ctx.plan.quick ? 4_000 : 15_000;
          const series = async (f: () => Promise<number>) => {
            const out: number[] = [];
            const t0 = performance.now();
            for (let i = 0; i < calls; i++) {
              if (out.length >= 5 && performance.now() - t0 > budgetMs) break;
              out.push(await f());
            }
            return out;
          };
          const cli = await series(() => inst.ctlStatusMs());
          const raw = await series(() => inst.rawStatusMs());
          const floor = await series(() => inst.cliFloorMs());
          // sup samples every tree for status and reuses the samples for 1 s: a burst above
          // pays for one sample; a call more than 1 s after the last pays for a fresh one
          const fresh = { raw: [] as number[], cli: [] as number[] };
          for (let i = 0; i < (ctx.plan.quick ? 3 : 5); i++) {
            await Bun.sleep(1100);
            fresh.raw.push(await inst.rawStatusMs());
            await Bun.sleep(1100);
            fresh.cli.push(await inst.ctlStatusMs());
          }
          for (const v of fresh.cli) ctx.add({ scenario: "D", case: `N=${n}`, metric: "status via CLI, 1.1 s apart", unit: "ms", peer: peer.id, rep, value: v });
          for (const v of fresh.raw) ctx.add({ scenario: "D", case: `N=${n}`, metric: "status raw, 1.1 s apart", unit: "ms", peer: peer.id, rep, value: v });
          for (const v of cli) ctx.add({ scenario: "D", case: `N=${n}`, metric: "status via CLI", unit: "ms", peer: peer.id, rep, value: v });
          for (const v of raw) ctx.add({ scenario: "D", case: `N=${n}`, metric: "status raw round trip", unit: "ms", peer: peer.id, rep, value: v });
          for (const v of floor) ctx.add({ scenario: "D", case: `N=${n}`, metric: "CLI start-up floor", unit: "ms", peer: peer.id, rep, value: v });
          const med = (l: number[]) => [...l].sort((a, b) => a - b)[Math.floor(l.length / 2)]!;
          ctx.log(`D N=${n} ${peer.id} rep ${rep}: CLI median ${med(cli).toFixed(1)} ms (n=${cli.length}), raw median ${med(raw).toFixed(2)} ms (n=${raw.length}), CLI floor median ${med(floor).toFixed(1)} ms; 1.1 s apart: CLI ${med(fresh.cli).toFixed(1)} ms, raw ${med(fresh.raw).toFixed(2)} ms`);
        }),
      );
  },
};

// ---------------------------------------------------------------- E. graceful stop

const SLOW_STOP = "trap 'sleep 1; exit 0' TERM; while :; do sleep 0.2 & wait $!; done";

/** poll the census until no companion (marked process other than the supervisor's) is left */
async function waitGone(inst: Instance, own: Set<number>, timeoutMs: number, companionsOnly = false): Promise<{ companionsGone: number | null; allGone: number | null; left: number }> {
  const deadline = performance.now() + timeoutMs;
  let companionsGone: number | null = null;
  let left = 0;
  while (performance.now() < deadline) {
    const c = census(inst.mark);
    const now = performance.now();
    left = c.filter((p) => !own.has(p.pid)).length;
    if (left === 0 && companionsGone === null) companionsGone = now;
    if (companionsOnly && companionsGone !== null) return { companionsGone, allGone: null, left: 0 };
    if (c.length === 0) return { companionsGone: companionsGone ?? now, allGone: now, left: 0 };
    await Bun.sleep(5);
  }
  return { companionsGone, allGone: null, left };
}

const gracefulStop: Scenario = {
  id: "E",
  title: "Graceful stop: companions that take 1 s to exit after SIGTERM",
  async run(ctx) {
    const { n, reps } = ctx.plan.E;
    const s: Settings = { ...DEFAULTS, startsecs: 0, stopTimeout: 10 };
    settingsLine(ctx, "E", s);
    ctx.note("E", `${n} companions: sh -c "${SLOW_STOP}"; census: every process carrying the run's env marker, polled every 5 ms. "all gone" = companions and the supervisor's own processes. supervisord stops its groups one after the other; the "[group:]" case puts all programs in one group.`);
    const comps = names(n, () => ({ argv: [SH, "-c", SLOW_STOP] }));
    const ready = async (inst: Instance) => {
      await waitAll(inst, n, running, 30_000, 20);
      // every sh has set its trap and has a sleep child
      const deadline = performance.now() + 10_000;
      while (census(inst.mark).length < n * 2 + inst.ownPids().length && performance.now() < deadline) await Bun.sleep(20);
      await Bun.sleep(300);
    };
    const sigterm = (kase: string, oneGroup: boolean) => async (peer: Peer, rep: number) => {
      if (oneGroup && peer.family === "sup") return;
      await withInstance(
        ctx,
        "E",
        peer,
        kase,
        comps,
        s,
        async (inst) => {
          await ready(inst);
          const own = new Set(inst.ownPids());
          const t0 = performance.now();
          inst.signal("SIGTERM");
          const r = await waitGone(inst, own, 180_000);
          const code = await inst.waitExit(5_000);
          if (r.allGone === null) throw new Error(`${peer.id}: ${r.left} companion(s) still alive 180 s after SIGTERM`);
          if (code !== 0) ctx.error("E", peer.id, kase, `exit code ${code} after SIGTERM (expected 0)`);
          const gone = (r.companionsGone! - t0) / 1000;
          const all = (r.allGone - t0) / 1000;
          ctx.add({ scenario: "E", case: kase, metric: "SIGTERM -> all gone", unit: "s", peer: peer.id, rep, value: all, detail: { exitCode: code } });
          ctx.add({ scenario: "E", case: kase, metric: "SIGTERM -> companions gone", unit: "s", peer: peer.id, rep, value: gone });
          ctx.log(`E ${kase} ${peer.id} rep ${rep}: companions gone ${gone.toFixed(3)} s, all gone ${all.toFixed(3)} s, exit ${code}`);
        },
        { oneGroup },
      );
    };
    const base = `${n} x 1 s stop`;
    await alternate(ctx, reps, sigterm(`${base}, SIGTERM to arbiter`, false));
    if (ctx.peers.some((p) => p.id === "supervisord")) await alternate(ctx, reps, sigterm(`${base}, SIGTERM, supervisord [group:]`, true));
    const kase = `${base}, ctl stop all`;
    await alternate(ctx, reps, (peer, rep) =>
      withInstance(ctx, "E", peer, kase, comps, s, async (inst) => {
        await ready(inst);
        const own = new Set(inst.ownPids());
        const t0 = performance.now();
        const ctlMs = await inst.ctlStopAllMs();
        const r = await waitGone(inst, own, 120_000, true);
        // the supervisor keeps running: only the companions must go
        if (r.companionsGone === null) throw new Error(`${peer.id}: ${r.left} companion(s) still alive 120 s after ctl stop all`);
        const gone = (r.companionsGone - t0) / 1000;
        ctx.add({ scenario: "E", case: kase, metric: "ctl stop all -> companions gone", unit: "s", peer: peer.id, rep, value: gone, detail: { ctlMs } });
        ctx.add({ scenario: "E", case: kase, metric: "ctl stop all returns", unit: "s", peer: peer.id, rep, value: ctlMs / 1000 });
        ctx.log(`E ${kase} ${peer.id} rep ${rep}: ctl returned after ${(ctlMs / 1000).toFixed(3)} s, companions gone ${gone.toFixed(3)} s`);
      }),
    );
  },
};

// ---------------------------------------------------------------- F. log throughput

const PERL = Bun.which("perl");

/** writes `total` bytes (rounded down to whole writes) as lines of `len` bytes, `perWrite` lines in each write(2) */
function lineWriter(dir: string, total: number, len: number, perWrite = 1): string[] {
  const writes = Math.floor(total / (len * perWrite));
  if (PERL) {
    const f = join(dir, "lines.pl");
    writeFileSync(f, `my $b = (("x" x ${len - 1}) . "\\n") x ${perWrite}; my $n = ${writes}; while ($n-- > 0) { my $o = 0; while ($o < length $b) { my $w = syswrite(STDOUT, $b, length($b) - $o, $o); die "write: $!" unless defined $w; $o += $w; } } exit 0;\n`);
    return [PERL, f];
  }
  const f = join(dir, "lines.ts");
  writeFileSync(f, `import { writeSync } from "node:fs";\nconst b = Buffer.from(("x".repeat(${len - 1}) + "\\n").repeat(${perWrite}));\nfor (let n = ${writes}; n-- > 0; ) for (let o = 0; o < b.length; ) o += writeSync(1, b, o);\n`);
  return [process.execPath, f];
}

/**
 * wrap a writer: wait for `go` (so the supervisor's CPU is metered from a known point), record
 * the start time (ns since the epoch), run it, then mark `end` once it has exited (every byte is
 * in the pipe or file by then); the shell exits right after.
 */
function gated(files: { go: string; start: string; end: string }, argv: string[]): string[] {
  const q = (a: string) => `'${a.replace(/'/g, `'"'"'`)}'`;
  return [SH, "-c", `while [ ! -e ${q(files.go)} ]; do sleep 0.005; done; date +%s%N > ${q(files.start)} && ${argv.map(q).join(" ")}; : > ${q(files.end)}`];
}

function readStartMs(file: string): number | null {
  try {
    const ns = BigInt(readFileSync(file, "utf8").trim());
    return Number(ns / 1000n) / 1000 - performance.timeOrigin; // -> performance.now() domain
  } catch {
    return null;
  }
}

function fileSize(f: string): number {
  try {
    return statSync(f).size;
  } catch {
    return 0;
  }
}

function countNewlines(f: string): number {
  const b = readFileSync(f);
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** how the companion's stdout reaches the file: sup can hand the file over or capture; supervisord always captures */
type FMode = "file" | "capture";

const logThroughput: Scenario = {
  id: "F",
  title: "Log throughput: a child writes to its stdout, which goes to a file",
  async run(ctx) {
    const { mib, reps, lineBytes } = ctx.plan.F;
    const total = mib * 1024 * 1024;
    const s: Settings = { ...DEFAULTS, startsecs: 0, autorestart: false };
    settingsLine(ctx, "F", s);
    const lineLen = lineBytes;
    // a block of text: as many whole lines as fit in 64 KiB, one write(2) each (a program's full stdio buffer)
    const perBlock = Math.floor(65536 / lineLen);
    ctx.note(
      "F",
      `${mib} MiB; "block": dd bs=64k of zeros (no newline at all); "block of lines": ${PERL ? "perl" : "bun"} writing ${perBlock} ${lineLen}-byte lines (${perBlock * lineLen} bytes) in each write(2); "lines": ${lineLen}-byte lines, one write(2) each. Plain cases: sup opens the file and hands it to the child as its stdout (zero copy). "captured" cases: sup reads a pipe (stdout = "capture", log_file, log_console = false, log_max_bytes = 0). supervisord always reads a pipe and writes stdout_logfile (maxbytes=0): each supervisord run is listed under both cases of its writer. Time: from the child's own start (date +%s%N after a go file appears) until the file has every byte and status shows the companion exited. "CPU per 100 MB": the supervisor's own utime+stime (/proc/PID/stat; sup = arbiter + manager) from go until then, per 10^8 bytes. "missing at exit": bytes not yet in the file when status first shows the exit (polled every ~2 ms once the writer is gone); "bytes lost": not in the file at the end. "direct" = the same writer with stdout to the file, no supervisor. MB = 10^6 bytes.`,
    );
    const modes: [string, (dir: string) => string[], boolean, number][] = [
      [`block 64 KiB, ${mib} MiB`, () => ["dd", "if=/dev/zero", "bs=64k", `count=${mib * 16}`, "status=none"], false, total],
      [`block 64 KiB of ${lineLen}-B lines, ${mib} MiB`, (dir) => lineWriter(dir, total, lineLen, perBlock), true, Math.floor(total / (lineLen * perBlock)) * lineLen * perBlock],
      [`lines of ${lineLen} B, ${mib} MiB`, (dir) => lineWriter(dir, total, lineLen), true, Math.floor(total / lineLen) * lineLen],
    ];
    for (const [kase, writer, lines, want] of modes) {
      const caseOf = (m: FMode) => (m === "capture" ? `${kase}, captured` : kase);
      const record = (cases: string[], peer: string, rep: number, r: { ms: number; size: number; file: string; cpuS?: number; schedS?: number; missingAtExit?: number; fullMs?: number; drainMs?: number | null }) => {
        const lost = want - r.size;
        const newlines = lines ? countNewlines(r.file) : null;
        const mbps = r.size / 1e6 / (r.ms / 1000);
        const detail = { ms: r.ms, size: r.size, want, newlines, fullMs: r.fullMs, drainMs: r.drainMs, cpuS: r.cpuS, schedS: r.schedS, sharedBy: cases };
        for (const c of cases) {
          ctx.add({ scenario: "F", case: c, metric: "throughput", unit: "MB/s", peer, rep, value: mbps, detail });
          if (r.cpuS !== undefined) ctx.add({ scenario: "F", case: c, metric: "supervisor CPU per 100 MB", unit: "s", peer, rep, value: r.cpuS / (r.size / 1e8), detail });
          if (r.missingAtExit !== undefined) ctx.add({ scenario: "F", case: c, metric: "bytes missing at exit", unit: "B", peer, rep, value: r.missingAtExit, detail });
          ctx.add({ scenario: "F", case: c, metric: "bytes lost", unit: "B", peer, rep, value: lost, detail: { newlines, wantNewlines: lines ? Math.floor(want / lineLen) : null } });
        }
        if (lines && newlines !== Math.floor(want / lineLen)) ctx.error("F", peer, cases[0]!, `${newlines} newlines in the file, expected ${want / lineLen}`);
        const cpu = r.cpuS === undefined ? "" : `, supervisor CPU ${r.cpuS.toFixed(2)} s (${(r.cpuS / (r.size / 1e8)).toFixed(3)} s/100 MB)`;
        const exit = r.missingAtExit === undefined ? "" : `; ${r.missingAtExit} bytes missing when the exit was first seen (${r.drainMs?.toFixed(1)} ms after the writer ended)`;
        ctx.log(`F ${cases.join(" + ")} ${peer} rep ${rep}: ${mbps.toFixed(0)} MB/s (${(r.ms / 1000).toFixed(3)} s)${cpu}${exit}, ${r.size} of ${want} bytes`);
      };
      await alternate(ctx, reps, async (peer, rep) => {
        const fmodes: FMode[] = peer.family === "sup" ? (rep % 2 === 0 ? ["file", "capture"] : ["capture", "file"]) : ["capture"];
        for (const fmode of fmodes) {
          const work = mkdtempSync(join(ctx.tmp, `F-work-`));
          try {
            const out = join(work, "out.log");
            const files = { go: join(work, "go"), start: join(work, "start"), end: join(work, "end") };
            const argv = gated(files, writer(work));
            const comp: CompanionDef[] =
              peer.family !== "sup" ? [{ name: "writer", argv, stdout: out }] : fmode === "file" ? [{ name: "writer", argv, stdout: out }] : [{ name: "writer", argv, supToml: [`stdout = "capture"`, `log_file = ${JSON.stringify(out)}`, `log_console = false`, `log_max_bytes = 0`] }];
            const cases = peer.family === "sup" ? [caseOf(fmode)] : [caseOf("file"), caseOf("capture")];
            await withInstance(ctx, "F", peer, cases[0]!, comp, s, async (inst) => {
              await waitAll(inst, 1, running, 30_000);
              const meter = new CpuMeter(inst.ownPids());
              writeFileSync(files.go, "");
              const deadline = performance.now() + 300_000;
              let full: number | null = null;
              let writerEnd: number | null = null;
              let exitSeen: number | null = null;
              let missingAtExit: number | null = null;
              while (performance.now() < deadline) {
                if (full === null && fileSize(out) >= want) full = performance.now();
                if (writerEnd === null && existsSync(files.end)) writerEnd = performance.now();
                // status only once the writer is gone: no polling cost while it writes
                if (writerEnd !== null && exitSeen === null) {
                  const st = await inst.states();
                  if (st[0] && (st[0].state === "EXITED" || st[0].state === "STOPPED" || st[0].state === "FATAL")) {
                    exitSeen = performance.now();
                    missingAtExit = want - fileSize(out);
                    if (full === null && missingAtExit <= 0) full = exitSeen;
                  }
                }
                if (full !== null && exitSeen !== null) break;
                // the exit is seen but bytes are still missing: give the supervisor 10 s more to flush
                if (exitSeen !== null && performance.now() - exitSeen > 10_000) break;
                await Bun.sleep(2);
              }
              const end = performance.now();
              const cpu = meter.stop();
              const start = readStartMs(files.start);
              if (start === null) throw new Error(`${peer.id}: the writer never started`);
              if (exitSeen === null) throw new Error(`${peer.id}: no exit seen after 300 s (file has ${fileSize(out)} of ${want} bytes)`);
              if (full === null) ctx.error("F", peer.id, cases[0]!, `file has ${fileSize(out)} of ${want} bytes 10 s after the exit was seen`);
              const st = (await inst.states())[0];
              if (st?.state !== "EXITED") ctx.error("F", peer.id, cases[0]!, `writer ended in state ${st?.state}, expected EXITED`);
              record(cases, peer.id, rep, { ms: end - start, size: fileSize(out), file: out, cpuS: cpu.statS, schedS: cpu.schedS, missingAtExit: missingAtExit!, fullMs: full === null ? undefined : full - start, drainMs: writerEnd === null ? null : exitSeen - writerEnd });
            });
          } finally {
            rmSync(work, { recursive: true, force: true });
          }
        }
        // baseline: the same writer, stdout straight to a file, no supervisor (once per rep)
        if (peer === ctx.peers[ctx.peers.length - 1] || ctx.peers.length === 1) {
          const work = mkdtempSync(join(ctx.tmp, `F-direct-`));
          try {
            const dout = join(work, "direct.log");
            const files = { go: join(work, "go"), start: join(work, "start"), end: join(work, "end") };
            writeFileSync(files.go, "");
            const fd = openSync(dout, "w");
            let p;
            try {
              p = Bun.spawn(gated(files, writer(work)), { stdio: ["ignore", fd, "ignore"] });
            } finally {
              closeSync(fd);
            }
            const timer = setTimeout(() => p.kill("SIGKILL"), 300_000);
            await p.exited;
            clearTimeout(timer);
            const end = performance.now();
            const start = readStartMs(files.start);
            if (start !== null) record([kase], "direct", rep, { ms: end - start, size: fileSize(dout), file: dout });
          } finally {
            rmSync(work, { recursive: true, force: true });
          }
        }
      });
    }
  },
};

// ---------------------------------------------------------------- G. crash loop

const G_SETTLE_S = 5;

const crashLoop: Scenario = {
  id: "G",
  title: "Crash loop: a companion that exits 1 at once",
  async run(ctx) {
    const { windowS, reps } = ctx.plan.G;
    const s: Settings = { startsecs: 1, restartDelay: 1, stopTimeout: 10, autorestart: true, startretries: 1000 };
    settingsLine(ctx, "G", s);
    ctx.note("G", `command: sh -c 'echo >> spawns; exit 1' (each spawn appends a line, counted the same way for both). sup: its defaults (startsecs 1, restart_delay 1, fixed backoff). supervisord: its defaults except startretries=1000 (default 3 would stop at FATAL after 4 spawns); its own backoff is 1, 2, 3 ... s. Window starts ${G_SETTLE_S} s after the status first answers; CPU = run time (schedstat, as in B) of the supervisor's own processes / wall; "(stat ticks)" from /proc/PID/stat.`);
    await alternate(ctx, reps, async (peer, rep) => {
      const work = mkdtempSync(join(ctx.tmp, `G-work-`));
      const spawns = join(work, "spawns");
      const count = () => (existsSync(spawns) ? readFileSync(spawns, "utf8").split("\n").length - 1 : 0);
      try {
        await withInstance(ctx, "G", peer, `exit 1 at once, ${windowS} s`, [{ name: "crasher", argv: [SH, "-c", `echo x >> '${spawns}'; exit 1`] }], s, async (inst) => {
          await waitAll(inst, 1, () => true, 15_000, 20);
          await Bun.sleep(G_SETTLE_S * 1000); // past the start-up transient (JIT, first GCs), as in B
          const pids = inst.ownPids();
          const n0 = count();
          const meter = new CpuMeter(pids);
          await meterSleep(meter, windowS * 1000);
          const cpuM = meter.stop();
          const n1 = count();
          const wall = cpuM.wallS;
          const st = (await inst.states())[0];
          const pct = (cpuM.schedS / wall) * 100;
          const kase = `exit 1 at once, ${windowS} s`;
          ctx.add({ scenario: "G", case: kase, metric: "supervisor CPU", unit: "%", peer: peer.id, rep, value: pct, detail: { ...cpuM, finalState: st?.state } });
          ctx.add({ scenario: "G", case: kase, metric: "supervisor CPU (stat ticks)", unit: "%", peer: peer.id, rep, value: (cpuM.statS / wall) * 100, detail: { ...cpuM } });
          if (n1 > n0) ctx.add({ scenario: "G", case: kase, metric: "CPU per spawn (idle included)", unit: "ms", peer: peer.id, rep, value: (cpuM.schedS * 1000) / (n1 - n0) });
          ctx.add({ scenario: "G", case: kase, metric: "spawns in window", unit: "", peer: peer.id, rep, value: n1 - n0, detail: { totalSpawns: n1, finalState: st?.state } });
          ctx.log(`G ${peer.id} rep ${rep}: CPU ${(cpuM.schedS * 1000).toFixed(1)} ms (stat ticks ${(cpuM.statS * 1000).toFixed(0)} ms) / ${wall.toFixed(1)} s = ${pct.toFixed(3)} % (${Object.entries(cpuM.perPidS).map(([p, v]) => `${p}: ${(v * 1000).toFixed(1)} ms`).join(", ")}), ${n1 - n0} spawns, state ${st?.state}`);
        });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });
  },
};

// ---------------------------------------------------------------- H. stop of a process tree

/** `sh` starting `total` sleeps, `escaped` of them in a new session (setsid), then waiting */
function treeScript(total: number, escaped: number): string {
  const sleep = SLEEP.join(" ");
  return `i=0; while [ $i -lt ${total - escaped} ]; do ${sleep} & i=$((i+1)); done; i=0; while [ $i -lt ${escaped} ]; do setsid ${sleep} & i=$((i+1)); done; wait`;
}

/** alive = same pid and start time, not a zombie */
const aliveAs = (p: Stat) => {
  const s = readStat(p.pid);
  return s !== null && s.start === p.start && s.state !== "Z";
};

const treeStop: Scenario = {
  id: "H",
  title: "Stop of one companion with a process tree (some of it setsid'ed): stop request -> last descendant gone",
  async run(ctx) {
    const { descendants, setsid, reps } = ctx.plan.H;
    const s: Settings = { ...DEFAULTS, startsecs: 0, stopTimeout: 10, autorestart: false };
    const capS = s.stopTimeout + 3;
    settingsLine(ctx, "H", s);
    ctx.note("H", `one companion: sh -c '<${descendants - setsid} x ${SLEEP.join(" ")} &; ${setsid} x setsid ${SLEEP.join(" ")} &; wait'. After every sleep has exec'd, one stop request over the fast path (sup: {"cmd":"stop"} on its socket; supervisord: XML-RPC stopProcess(name, wait=false)); the tree (pid + start time of each process found by the run's env marker before the stop) is polled from /proc every 2 ms until none is alive, capped at stop timeout + 3 s = ${capS} s. "in-session" = the sh and the descendants that did not setsid. sup runs with SUP_CONTAINMENT=cgroup (the default where sup may make a cgroup) and =marker; the mode is checked with sup's info request.`);
    const tag = `${descendants} descendants (${setsid} setsid)`;
    const variants: { peer: Peer; kase: string; env: Record<string, string>; mode: string | null }[] = [];
    for (const p of ctx.peers) {
      if (p.family === "sup" && p.id === "sup") {
        variants.push({ peer: p, kase: tag, env: { SUP_CONTAINMENT: "cgroup" }, mode: "cgroup" });
        variants.push({ peer: p, kase: `${tag}, sup marker mode`, env: { SUP_CONTAINMENT: "marker" }, mode: "marker" });
      } else if (p.family !== "sup") variants.push({ peer: p, kase: tag, env: {}, mode: null });
    }
    const comp: CompanionDef[] = [{ name: "tree", argv: [SH, "-c", treeScript(descendants, setsid)] }];
    for (let rep = 0; rep < reps; rep++) {
      for (const v of rep % 2 === 0 ? variants : [...variants].reverse()) {
        const { peer, kase } = v;
        await withInstance(ctx, "H", peer, kase, comp, s, async (inst) => {
          await waitAll(inst, 1, running, 15_000, 20);
          if (v.mode && "info" in inst) {
            const mode = (await (inst as unknown as { info(): Promise<Record<string, unknown>> }).info()).containment;
            if (mode !== v.mode) throw new Error(`sup runs in containment mode ${mode}, asked for ${v.mode}`);
          }
          const own = new Set(inst.ownPids());
          const main = (await inst.states())[0]!.pid!;
          const comm = SLEEP[0]!.split("/").pop()!;
          let tree: Stat[] = [];
          const deadline = performance.now() + 15_000;
          while (performance.now() < deadline) {
            tree = census(inst.mark).filter((p) => !own.has(p.pid));
            if (tree.filter((p) => p.comm === comm).length >= descendants) break;
            await Bun.sleep(20);
          }
          const sid = readStat(main)?.sid;
          const escaped = tree.filter((p) => p.sid !== sid);
          if (tree.length !== descendants + 1 || escaped.length !== setsid) throw new Error(`${peer.id}: tree has ${tree.length} processes (${escaped.length} in another session), expected ${descendants + 1} (${setsid})`);
          await Bun.sleep(200);
          const inSession = tree.filter((p) => p.sid === sid);
          const t0 = performance.now();
          let replyAt: number | null = null;
          const req = inst.command("stop", ["tree"]).then(
            () => (replyAt = performance.now()),
            (e) => ctx.error("H", peer.id, kase, `stop request: ${e}`),
          );
          let sessionGone: number | null = null;
          let allGone: number | null = null;
          let left = tree;
          const cap = t0 + capS * 1000;
          while (performance.now() < cap) {
            left = left.filter(aliveAs);
            const now = performance.now();
            if (sessionGone === null && !inSession.some(aliveAs)) sessionGone = now;
            if (!left.length) {
              allGone = now;
              break;
            }
            await Bun.sleep(2);
          }
          await req;
          // anything of the run's not in the snapshot (a respawn, a late fork) counts as left too
          const extra = census(inst.mark).filter((p) => !own.has(p.pid) && !tree.some((t) => t.pid === p.pid && t.start === p.start));
          const leftovers = left.filter(aliveAs).length + extra.length;
          // a peer's leftovers are its known result (counted above), not a failed teardown;
          // sup's are left for the teardown to report as an error
          if (peer.family !== "sup") for (const p of [...left, ...extra]) if (aliveAs(p)) try { process.kill(p.pid, "SIGKILL"); } catch {}
          if (allGone !== null) ctx.add({ scenario: "H", case: kase, metric: "stop -> last descendant gone", unit: "ms", peer: peer.id, rep, value: allGone - t0 });
          if (sessionGone !== null) ctx.add({ scenario: "H", case: kase, metric: "stop -> in-session descendants gone", unit: "ms", peer: peer.id, rep, value: sessionGone - t0 });
          ctx.add({ scenario: "H", case: kase, metric: `left alive ${capS} s after stop`, unit: "", peer: peer.id, rep, value: leftovers, detail: { escaped: escaped.length, extra: extra.length } });
          if (replyAt !== null) ctx.add({ scenario: "H", case: kase, metric: "stop request replied", unit: "ms", peer: peer.id, rep, value: replyAt - t0 });
          const f = (x: number | null) => (x === null ? "never" : `${(x - t0).toFixed(1)} ms`);
          ctx.log(`H ${kase} ${peer.id} rep ${rep}: in-session gone ${f(sessionGone)}, all gone ${f(allGone)}, reply ${f(replyAt)}, ${leftovers} left alive${allGone === null ? ` after ${capS} s` : ""}`);
        }, { env: v.env });
      }
    }
  },
};

// ---------------------------------------------------------------- I. spawn cost with limits

/** soft and hard value of one limit of this process (sup inherits them), from /proc/self/limits */
function ownLimit(label: string): { soft: string; hard: string } | null {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith(label));
  const m = line ? /\s(\S+)\s+(\S+)\s+\S*\s*$/.exec(line.slice(label.length)) : null;
  return m ? { soft: m[1]!, hard: m[2]! } : null;
}

const tomlLimit = (v: string) => (v === "unlimited" ? `"unlimited"` : v);

/** CAP_SYS_NICE in this process's effective set (sup, run by us, has the same) */
function hasCapNice(): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return hex ? ((BigInt(`0x${hex}`) >> 23n) & 1n) === 1n : false;
}

const spawnCost: Scenario = {
  id: "I",
  title: "Spawn cost: start of N stopped companions -> all RUNNING, with and without limits",
  async run(ctx) {
    const { n, cycles, reps } = ctx.plan.I;
    const s: Settings = { ...DEFAULTS, startsecs: 0 };
    settingsLine(ctx, "I", s);
    const nofileHard = ownLimit("Max open files")?.hard ?? "unlimited";
    const cpuHard = ownLimit("Max cpu time")?.hard ?? "unlimited";
    const nice = hasCapNice();
    // src/contain/limits.ts: umask, nice (with CAP_SYS_NICE) and a nofile that keeps the hard
    // limit are set in the manager around the spawn; cpu/as/stack never are (the trampoline)
    const around = [`umask = "022"`, ...(nice ? ["nice = 5"] : []), `limits = { nofile = [4096, ${tomlLimit(nofileHard)}] }`];
    const tramp = [`limits = { cpu = ${tomlLimit(cpuHard)} }`];
    const cases: { kase: string; toml: string[]; supOnly: boolean }[] = [
      { kase: `N=${n}, no limits`, toml: [], supOnly: false },
      { kase: `N=${n}, ${around.join(", ").replace(/limits = \{ (.*) \}/, "limits.$1")} (around the spawn)`, toml: around, supOnly: true },
      { kase: `N=${n}, limits.cpu = ${cpuHard} (trampoline)`, toml: tramp, supOnly: true },
    ];
    ctx.note("I", `${n} companions (${SLEEP.join(" ")}) launched, all RUNNING, then ${cycles} cycle(s) per supervisor of: stop all, wait for STOPPED, 300 ms, then start all (sup: one connection with one start request per name; supervisord: XML-RPC startProcess(name, wait=false) per name, in parallel) -> status shows all RUNNING (polled every 10 ms). "ms per spawn" = that time / N; "CPU per spawn" = run time (schedstat) of the supervisor's process the companions are children of (sup: manager; supervisord: itself) over the same window / N, status polls included. sup cases: ${cases.map((c) => `[${c.toml.join("; ") || "none"}]`).join(" / ")}${nice ? "" : " (no CAP_SYS_NICE here: nice would force the trampoline, so it is left out)"}; the settings cases run for "sup" only (an older sup refuses the keys).`);
    for (const c of cases) {
      const comps = names(n, () => ({ argv: SLEEP, supToml: c.toml }));
      await alternate(ctx, reps, async (peer, rep) => {
        if (c.supOnly && peer.id !== "sup") return;
        await withInstance(ctx, "I", peer, c.kase, comps, s, async (inst) => {
          await waitAll(inst, n, running, 30_000 + n * 60, 20);
          const all = (await inst.states()).map((e) => e.name);
          const parent = inst.childParent();
          for (let k = 0; k < cycles; k++) {
            await inst.command("stop", all);
            await waitAll(inst, n, (e) => e.state === "STOPPED", 30_000, 20);
            await Bun.sleep(300);
            const meter = new CpuMeter([parent]);
            const t0 = performance.now();
            await inst.command("start", all);
            const r = await waitAll(inst, n, running, 30_000, 10);
            const cpu = meter.stop();
            const ms = r.at - t0;
            ctx.add({ scenario: "I", case: c.kase, metric: "start -> all RUNNING, per spawn", unit: "ms", peer: peer.id, rep, value: ms / n, detail: { totalMs: ms, polls: r.polls, cycle: k } });
            ctx.add({ scenario: "I", case: c.kase, metric: "supervisor CPU per spawn", unit: "ms", peer: peer.id, rep, value: (cpu.schedS * 1000) / n, detail: { ...cpu, parent, cycle: k } });
            ctx.log(`I ${c.kase} ${peer.id} rep ${rep} cycle ${k}: ${ms.toFixed(0)} ms for ${n} (${(ms / n).toFixed(2)} ms each), CPU ${(cpu.schedS * 1000).toFixed(0)} ms of pid ${parent} (${((cpu.schedS * 1000) / n).toFixed(2)} ms each), ${r.polls} status polls`);
          }
        });
      });
    }
  },
};

// ---------------------------------------------------------------- R. readiness (tcp probes)

/** a real python3, not a pyenv shim (a shim is a bash script: ~250 ms and a few processes per start) */
const PY = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : (Bun.which("python3") ?? "python3");

// one companion: waits until DELAY s after its own fork (its start time in /proc, 10 ms ticks,
// against CLOCK_BOOTTIME: interpreter start-up under load does not stretch the delay), then
// listens on 127.0.0.1:PORT; writes "spawn listen" (epoch s) to OUT.listen and one line per
// accepted connection to OUT.acc. Blocks in accept(): no CPU while idle.
const R_SERVER = `import socket, sys, time
port, delay, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
with open("/proc/self/stat") as f:
    st = f.read()
start = int(st[st.rindex(")") + 2:].split()[19]) / 100.0
spawn = time.time() - (time.clock_gettime(time.CLOCK_BOOTTIME) - start)
time.sleep(max(0.0, spawn + delay - time.time()))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(64)
listen = time.time()
with open(out + ".listen", "w") as f:
    f.write("%.6f %.6f\\n" % (spawn, listen))
acc = open(out + ".acc", "a", buffering=1)
while True:
    c, _ = s.accept()
    acc.write("%.6f\\n" % time.time())
    c.close()
`;

// counts probes, refused ones included: every TCP SYN (no ACK) to a port in LO..HI on the
// loopback device (AF_PACKET, root), one line "port epoch" each; a SYN shows twice on lo
// (outgoing and incoming), the outgoing copy is skipped. Exits when its parent (the bench) goes.
const R_SNIFFER = `import os, socket, sys, time
lo, hi, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
parent = os.getppid()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("lo", 0))
s.settimeout(1.0)
f = open(out, "a", buffering=1)
f.write("ready\\n")
while True:
    try:
        pkt, addr = s.recvfrom(128)
    except socket.timeout:
        if os.getppid() != parent:
            break
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    et = pkt[12:14]
    if et == b"\\x08\\x00" and len(pkt) >= 34 and pkt[23] == 6:
        t = 14 + (pkt[14] & 15) * 4
    elif et == b"\\x86\\xdd" and len(pkt) >= 54 and pkt[20] == 6:
        t = 54
    else:
        continue
    if len(pkt) < t + 14:
        continue
    dport = (pkt[t + 2] << 8) | pkt[t + 3]
    if lo <= dport <= hi and pkt[t + 13] & 0x12 == 0x02:
        f.write("%d %.6f\\n" % (dport, time.time()))
`;

/** n consecutive ports on 127.0.0.1 that nothing listens on, below the ephemeral range (probes' own ports) */
function freePortRange(n: number): number {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "latin1").trim().split(/\s+/)[0]) || low;
  } catch {}
  for (let tries = 0; tries < 50; tries++) {
    const base = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000 - n));
    let ok = true;
    for (let p = base; p < base + n && ok; p++) {
      try {
        Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } }).stop(true);
      } catch {
        ok = false;
      }
    }
    if (ok) return base;
  }
  throw new Error(`no ${n} free consecutive ports below ${low}`);
}

/** the sniffer above, started and ready (its file says so), or null with the reason when it cannot run */
async function startSniffer(script: string, lo: number, hi: number, out: string): Promise<{ proc: ReturnType<typeof Bun.spawn>; out: string } | { why: string }> {
  const proc = Bun.spawn([PY, "-S", "-E", "-B", script, String(lo), String(hi), out], { stdio: ["ignore", "ignore", "pipe"] });
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    if (existsSync(out) && readFileSync(out, "utf8").startsWith("ready\n")) return { proc, out };
    if (proc.exitCode !== null) return { why: `the SYN counter exited ${proc.exitCode}: ${(await new Response(proc.stderr as ReadableStream).text()).trim().split("\n").pop()}` };
    await Bun.sleep(20);
  }
  proc.kill("SIGKILL");
  return { why: "the SYN counter did not start within 5 s" };
}

/** SYN times (epoch s) per port */
function readSyns(file: string): Map<number, number[]> {
  const m = new Map<number, number[]>();
  for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
    const [p, t] = line.split(" ");
    if (!t) continue;
    const port = Number(p);
    if (!m.has(port)) m.set(port, []);
    m.get(port)!.push(Number(t));
  }
  return m;
}

/** "NAME STARTING -> RUNNING (ready: ...)" times (epoch ms) from sup's own log (UTC, ms) */
function supReadyTimes(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  let text = "";
  try {
    text = readFileSync(join(dir, "supervisor.err"), "utf8");
  } catch {}
  for (const line of text.split("\n")) {
    const x = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) sup\[manager \d+\]: (\S+) STARTING -> RUNNING \(ready/.exec(line);
    if (x) m.set(x[2]!, Date.parse(x[1]!.replace(" ", "T") + "Z"));
  }
  return m;
}

const quantile = (l: number[], q: number) => {
  const s = [...l].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((s.length - 1) * q + 0.5))]! : NaN;
};

export const rCases = (p: Plan) => ({ ready: `N=${p.R.n}, ready = { tcp, interval = ${p.R.interval} }`, plain: `N=${p.R.n}, no ready, startsecs = 1` });

const readiness: Scenario = {
  id: "R",
  title: "Readiness: N TCP servers listening after 0-1 s, ready = { tcp } -> all RUNNING, probes per companion, idle CPU with and without ready",
  async run(ctx) {
    const { n, interval, maxDelayS, reps, windowS, settleS } = ctx.plan.R;
    const cases = rCases(ctx.plan);
    const s: Settings = { ...DEFAULTS, startsecs: 1 };
    settingsLine(ctx, "R", s);
    ctx.note("R", `${n} companions, each \`${PY} -S -E\` running a small TCP server: it listens on its own port of 127.0.0.1 at delay = i/${n - 1} x ${maxDelayS} s after its fork (i = 0..${n - 1}), writes the listen time, then counts accepted connections. "${cases.ready}": sup with \`ready = { tcp = PORT, interval = ${interval} }\` per companion (RUNNING once a connect succeeds). "${cases.plain}": the same servers with no ready (sup and supervisord: RUNNING after 1 s up; not readiness, a reference). Status polled over the fast path every 10 ms until all RUNNING; then ${settleS} s settle; then idle CPU over ${windowS} s as in B (run time of every thread from schedstat, and utime+stime ticks; arbiter + manager / supervisord), reported per 30 s.`);
    ctx.note("R", `probes: every TCP SYN to the companions' ports, refused ones included, counted by a packet counter on lo (AF_PACKET; needs root) from before the launch to the end of the idle window; "probes after ready" = accepted connections beyond the first one (each server counts its own), to the end of the idle window (contract §9: no probing once RUNNING). "worst minus delay/interval" = max over companions of probes - d/${interval}, d = listen time - fork time (the effective delay; the bound is d/interval + 1, target + 2). "ready -> RUNNING lag" = time of sup's log line "STARTING -> RUNNING" - the server's listen time; "first probe after fork" = first SYN - the fork (due at once).`);
    const variants: { peer: Peer; kase: string; ready: boolean }[] = [];
    for (const p of ctx.peers) {
      if (p.family === "sup") variants.push({ peer: p, kase: cases.ready, ready: true });
      variants.push({ peer: p, kase: cases.plain, ready: false });
    }
    const scripts = mkdtempSync(join(ctx.tmp, "R-scripts-"));
    const serverPy = join(scripts, "server.py");
    const snifferPy = join(scripts, "sniffer.py");
    writeFileSync(serverPy, R_SERVER);
    writeFileSync(snifferPy, R_SNIFFER);
    let noSniffer: string | null = null;
    try {
      for (let rep = 0; rep < reps; rep++) {
        const idle = new Map<string, number>(); // `${peer}\0${ready}` -> idle CPU per 30 s (schedstat)
        for (const v of rep % 2 === 0 ? variants : [...variants].reverse()) {
          const { peer, kase } = v;
          const work = mkdtempSync(join(ctx.tmp, "R-work-"));
          const base = freePortRange(n);
          const delays = Array.from({ length: n }, (_, i) => (n > 1 ? (i / (n - 1)) * maxDelayS : 0));
          const comps = names(n, () => ({ argv: [] })).map((c, i) => ({
            ...c,
            argv: [PY, "-S", "-E", "-B", serverPy, String(base + i), delays[i]!.toFixed(4), join(work, c.name)],
            supToml: v.ready ? [`ready = { tcp = ${base + i}, interval = ${interval} }`] : [],
          }));
          let sniffer: { proc: ReturnType<typeof Bun.spawn>; out: string } | null = null;
          try {
            const sn = await startSniffer(snifferPy, base, base + n - 1, join(work, "syns"));
            if ("why" in sn) {
              if (noSniffer === null) ctx.note("R", `probes are not counted (only accepted connections are): ${sn.why}`);
              noSniffer = sn.why;
            } else sniffer = sn;
            await withInstance(ctx, "R", peer, kase, comps, s, async (inst) => {
              const r = await waitAll(inst, n, running, 30_000 + n * 60, 10);
              const allRunning = (r.at - inst.launchedAt) / 1000;
              const allRunningEpoch = performance.timeOrigin + r.at;
              await Bun.sleep(settleS * 1000);
              const pids = inst.ownPids();
              const meter = new CpuMeter(pids);
              const windowStart = Date.now() / 1000;
              await meterSleep(meter, windowS * 1000);
              const cpuM = meter.stop();
              if (pids.some((p) => readStat(p) === null)) throw new Error(`supervisor process(es) vanished during the idle window`);
              const idle30 = (cpuM.schedS * 30) / cpuM.wallS;
              idle.set(`${peer.id}\0${v.ready}`, idle30);
              // per companion: effective delay, accepted connections, SYNs
              const syns = sniffer ? readSyns(sniffer.out) : null;
              const readyAt = v.ready && peer.family === "sup" ? supReadyTimes(inst.dir) : new Map<string, number>();
              const per = comps.map((c, i) => {
                let spawn = NaN;
                let listen = NaN;
                try {
                  [spawn, listen] = readFileSync(join(work, `${c.name}.listen`), "utf8").trim().split(" ").map(Number) as [number, number];
                } catch {}
                let acc: number[] = [];
                try {
                  acc = readFileSync(join(work, `${c.name}.acc`), "utf8").split("\n").filter(Boolean).map(Number);
                } catch {}
                const sy = syns?.get(base + i) ?? [];
                const ra = readyAt.get(c.name);
                return { name: c.name, spawn, delay: listen - spawn, acc, syns: sy, synsInWindow: sy.filter((t) => t >= windowStart).length, lagMs: ra === undefined ? NaN : ra - listen * 1000 };
              });
              const afterReady = per.reduce((a, p) => a + Math.max(0, p.acc.length - (v.ready ? 1 : 0)), 0);
              const synsInWindow = per.reduce((a, p) => a + p.synsInWindow, 0);
              const probesAfterRunning = per.reduce((a, p) => a + p.syns.filter((t) => t > allRunningEpoch / 1000).length, 0);
              ctx.add({ scenario: "R", case: kase, metric: "launch -> all RUNNING", unit: "s", peer: peer.id, rep, value: allRunning, detail: { polls: r.polls, milestonesMs: inst.milestones() } });
              ctx.add({ scenario: "R", case: kase, metric: "idle CPU per 30 s", unit: "s", peer: peer.id, rep, value: idle30, detail: { ...cpuM, pids } });
              ctx.add({ scenario: "R", case: kase, metric: "idle CPU per 30 s (stat ticks)", unit: "s", peer: peer.id, rep, value: (cpuM.statS * 30) / cpuM.wallS, detail: { ...cpuM, pids } });
              ctx.add({ scenario: "R", case: kase, metric: v.ready ? "probes after ready (all companions)" : "connections to the servers", unit: "", peer: peer.id, rep, value: afterReady, detail: { synsInWindow, probesAfterAllRunning: probesAfterRunning } });
              let probeLog = "";
              if (v.ready) {
                const bad = per.filter((p) => !Number.isFinite(p.delay));
                if (bad.length) throw new Error(`${bad.length} server(s) RUNNING but never listened: ${bad.slice(0, 5).map((p) => p.name).join(", ")}`);
                const lags = per.map((p) => p.lagMs).filter(Number.isFinite);
                if (lags.length) {
                  ctx.add({ scenario: "R", case: kase, metric: "ready -> RUNNING lag, median", unit: "ms", peer: peer.id, rep, value: quantile(lags, 0.5) });
                  ctx.add({ scenario: "R", case: kase, metric: "ready -> RUNNING lag, max", unit: "ms", peer: peer.id, rep, value: Math.max(...lags) });
                }
                if (syns) {
                  const probes = per.map((p) => p.syns.length);
                  const expected = per.map((p) => p.delay / interval + 1);
                  const excess = per.map((p) => p.syns.length - p.delay / interval);
                  const worst = per[excess.indexOf(Math.max(...excess))]!;
                  ctx.add({ scenario: "R", case: kase, metric: "probes per companion, mean", unit: "", peer: peer.id, rep, value: probes.reduce((a, b) => a + b, 0) / n, detail: { expectedMean: expected.reduce((a, b) => a + b, 0) / n, perCompanion: per.map((p) => ({ name: p.name, delayS: Number(p.delay.toFixed(3)), probes: p.syns.length, accepted: p.acc.length, lagMs: Number(p.lagMs.toFixed(1)), synMsAfterFork: p.syns.map((t) => Math.round((t - p.spawn) * 1000)) })) } });
                  ctx.add({ scenario: "R", case: kase, metric: "probes per companion, max", unit: "", peer: peer.id, rep, value: Math.max(...probes) });
                  // the first probe is due at the spawn (contract §9); later = the loop was busy (e.g. spawning the rest)
                  const first = per.filter((p) => p.syns.length).map((p) => (p.syns[0]! - p.spawn) * 1000);
                  if (first.length) ctx.add({ scenario: "R", case: kase, metric: "first probe after fork, max", unit: "ms", peer: peer.id, rep, value: Math.max(...first) });
                  probeLog += `; first probe ${quantile(first, 0).toFixed(0)}..${Math.max(...first).toFixed(0)} ms after the fork`;
                  ctx.add({ scenario: "R", case: kase, metric: "probes - delay/interval, worst companion", unit: "", peer: peer.id, rep, value: Math.max(...excess), detail: { worst: { name: worst.name, delayS: worst.delay, probes: worst.syns.length } } });
                  probeLog += `; probes per companion mean ${(probes.reduce((a, b) => a + b, 0) / n).toFixed(2)} (expected about d/interval + 1 = ${(expected.reduce((a, b) => a + b, 0) / n).toFixed(2)}), max ${Math.max(...probes)}, worst probes - d/interval ${Math.max(...excess).toFixed(2)} (${worst.name}: d ${worst.delay.toFixed(3)} s, ${worst.syns.length} probes)`;
                }
                probeLog += `; effective delay ${quantile(per.map((p) => p.delay), 0).toFixed(3)}..${quantile(per.map((p) => p.delay), 1).toFixed(3)} s; ready -> RUNNING lag median ${quantile(lags, 0.5).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms`;
              }
              ctx.log(`R ${kase} ${peer.id} rep ${rep}: all RUNNING ${allRunning.toFixed(3)} s (${r.polls} polls); idle CPU ${(cpuM.schedS * 1000).toFixed(1)} ms (schedstat) / ${(cpuM.statS * 1000).toFixed(0)} ms (ticks) in ${cpuM.wallS.toFixed(1)} s (${Object.entries(cpuM.perPidS).map(([p, x]) => `${p}: ${(x * 1000).toFixed(1)} ms`).join(", ")}); ${v.ready ? "accepted connections beyond the ready one" : "connections to the servers"}: ${afterReady}${syns ? `, SYNs in the idle window ${synsInWindow}, SYNs after all RUNNING ${probesAfterRunning}` : ""}${probeLog}`);
            });
          } finally {
            if (sniffer) {
              sniffer.proc.kill("SIGKILL");
              await sniffer.proc.exited;
            }
            rmSync(work, { recursive: true, force: true });
          }
        }
        for (const p of ctx.peers) {
          const a = idle.get(`${p.id}\0true`);
          const b = idle.get(`${p.id}\0false`);
          if (a !== undefined && b !== undefined) ctx.add({ scenario: "R", case: cases.ready, metric: "idle CPU per 30 s, minus without ready (same rep)", unit: "s", peer: p.id, rep, value: a - b });
        }
      }
    } finally {
      rmSync(scripts, { recursive: true, force: true });
    }
  },
};

export const SCENARIOS: Scenario[] = [coldStart, idleCost, restartLatency, roundTrip, gracefulStop, logThroughput, crashLoop, treeStop, spawnCost, readiness];

// ---------------------------------------------------------------- targets (sup)

export function targets(p: Plan): Target[] {
  const med = (f: (m: number) => boolean) => (s: Summary) => f(s.median);
  const list: Target[] = [
    { scenario: "A", case: "N=500 startsecs=0", metric: "launch -> all RUNNING", text: "<= 0.5 s", check: med((m) => m <= 0.5) },
    { scenario: "B", case: "N=100", metric: "idle CPU per 30 s", text: "<= 0.02 s", check: med((m) => m <= 0.02) },
    { scenario: "B", case: "N=1000", metric: "idle CPU per 30 s", text: "<= 0.1 s", check: med((m) => m <= 0.1) },
    { scenario: "B", case: "N=100", metric: "PSS (own processes)", text: "<= 48 MB", check: med((m) => m <= 48) },
    { scenario: "C", case: "restart_delay=0", metric: "kill -9 -> new pid alive", text: "<= 5 ms", check: med((m) => m <= 5) },
    { scenario: "D", case: "N=100", metric: "status via CLI", text: "<= 15 ms", check: med((m) => m <= 15) },
    { scenario: "D", case: "N=1000", metric: "status via CLI", text: "<= 30 ms", check: med((m) => m <= 30) },
    { scenario: "E", case: `${p.E.n} x 1 s stop, SIGTERM to arbiter`, metric: "SIGTERM -> all gone", text: "<= 1.15 s", check: med((m) => m <= 1.15) },
    { scenario: "F", case: `block 64 KiB, ${p.F.mib} MiB`, metric: "throughput", text: ">= 900 MB/s", check: med((m) => m >= 900) },
    { scenario: "F", case: `block 64 KiB, ${p.F.mib} MiB`, metric: "bytes lost", text: "0", check: (s) => s.max === 0 },
    { scenario: "F", case: `lines of ${p.F.lineBytes} B, ${p.F.mib} MiB`, metric: "bytes lost", text: "0", check: (s) => s.max === 0 },
    { scenario: "F", case: `block 64 KiB, ${p.F.mib} MiB, captured`, metric: "bytes missing at exit", text: "0", check: (s) => s.max === 0 },
    { scenario: "F", case: `lines of ${p.F.lineBytes} B, ${p.F.mib} MiB, captured`, metric: "bytes missing at exit", text: "0", check: (s) => s.max === 0 },
    { scenario: "G", case: `exit 1 at once, ${p.G.windowS} s`, metric: "supervisor CPU", text: "<= 0.3 %", check: med((m) => m <= 0.3) },
    { scenario: "R", case: rCases(p).ready, metric: "idle CPU per 30 s, minus without ready (same rep)", text: "<= 0.01 s", check: med((m) => m <= 0.01) },
    { scenario: "R", case: rCases(p).ready, metric: "probes - delay/interval, worst companion", text: "<= 2 (every rep)", check: (s) => s.max <= 2 },
    { scenario: "R", case: rCases(p).ready, metric: "probes after ready (all companions)", text: "0 (every rep)", check: (s) => s.max === 0 },
  ];
  return list;
}
