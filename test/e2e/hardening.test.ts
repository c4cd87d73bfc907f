// Hardening, end to end against the compiled binary: timers longer than setTimeout can hold, a
// manager binary that cannot be spawned, running out of file descriptors, sup's own log on a
// stderr nobody reads, a reread that cannot be applied in full, a manager stalled past a
// deadline, the RLIMIT_NOFILE companions inherit, and the reasons sup logs for stopping.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Subprocess } from "bun";
import { chmodSync, closeSync, constants, copyFileSync, existsSync, mkdirSync, openSync, readSync, renameSync, unlinkSync } from "node:fs";
import { alive, childrenOf, cpuTicks, rssKb } from "../helpers/census.ts";
import { connect, type Talk } from "../helpers/socket.ts";
import { SUP, SupFixture, type Entry } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(120_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

/**
 * CPU ticks (1/100 s) `pid` burns over `ms` of wall time. A measurement over time, not a wait:
 * a process that spins burns ~100 per second, an idle Bun process a few at most.
 */
async function ticksOver(pid: number, ms = 2_000): Promise<number> {
  const t0 = cpuTicks(pid);
  await Bun.sleep(ms);
  const t1 = cpuTicks(pid);
  if (t0 === null || t1 === null) throw new Error(`process ${pid} is gone`);
  return t1 - t0;
}

/** a private copy of the binary under test (the original is shared by parallel test runs) */
function copyBinary(to: string): string {
  copyFileSync(SUP, to);
  chmodSync(to, 0o755);
  return to;
}

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, "g")) ?? []).length;

describe("durations longer than a timer can hold", () => {
  test("startsecs = 2200000 (25.5 days): the companion stays STARTING, no overflow warning, the manager idles", async () => {
    f = new SupFixture(`
[defaults]
stop_timeout = 5

[companions.slow]
command = "forever"
startsecs = 2200000
`);
    await f.start();
    const e = await f.waitEntry("slow", "to be STARTING with a pid", (x) => x.state === "STARTING" && x.pid !== null);
    const manager = f.managerPid()!;
    expect(manager).toBeNumber();
    // a timer clamped to 1 ms would re-arm forever: ~200 ticks in 2 s; idle is a handful
    const ticks = await ticksOver(manager);
    console.log(`startsecs = 2200000: manager used ${ticks} CPU ticks over 2 s`);
    expect(ticks).toBeLessThan(100);
    expect(await f.entry("slow")).toMatchObject({ state: "STARTING", pid: e.pid });
    expect(f.output).not.toContain("TimeoutOverflowWarning");
    expect(f.output).not.toMatch(/slow STARTING -> RUNNING/);
  });

  test("stop_timeout = reload_timeout = 3000000: SIGTERM is graceful, nothing SIGKILLed, exit 0", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 3000000
reload_timeout = 3000000

[companions.rec]
command = "record-signals sig.txt"
`);
    await f.start();
    await f.waitState("rec", "RUNNING");
    await f.waitFile("sig.txt", "to say ready (its TERM trap is set)", (t) => t.includes("ready"));
    f.signal("SIGTERM");
    expect(await f.waitExit()).toBe(0);
    expect(f.read("sig.txt")).toContain("TERM");
    expect(f.output).not.toContain("stop budget");
    expect(f.output).not.toContain("SIGKILL");
    expect(f.output).not.toContain("TimeoutOverflowWarning");
    await f.waitNoProcs();
  });
});

describe("the manager cannot be respawned", () => {
  const FAST = { SUP_RESPAWN_MIN_MS: "100", SUP_RESPAWN_MAX_MS: "200" };
  const TOML = `
[defaults]
startsecs = 0
stop_timeout = 5

[companions.a]
command = "forever"
`;

  test("the running binary deleted: a killed manager is respawned through /proc/self/exe", async () => {
    f = new SupFixture(TOML);
    const copy = copyBinary(f.path("sup-copy"));
    await f.start({ argv: [copy, "run", "-c", f.config], env: FAST });
    const a = await f.waitState("a", "RUNNING");
    const manager = f.managerPid()!;
    expect(manager).toBeNumber();
    unlinkSync(copy);
    process.kill(manager, "SIGKILL");
    const a2 = await f.waitEntry("a", "to run again under a new manager", (e) => e.state === "RUNNING" && e.pid !== a.pid, 30_000);
    expect(a2.pid).toBeNumber();
    expect(alive(a.pid!)).toBe(false);
    const now = f.managerPid();
    expect(now).toBeNumber();
    expect(now).not.toBe(manager);
    const st = await f.ctl("status");
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/\ba\s+RUNNING\b/);
    expect(f.output).not.toContain("cannot spawn the manager");
    expect(f.exitCode).toBeNull();
  });

  test("SUP_MANAGER_EXE moved away: the spawn failure is logged and retried; moved back, sup recovers", async () => {
    f = new SupFixture(TOML);
    const copy = copyBinary(f.path("sup-copy"));
    const away = f.path("sup-away");
    await f.start({ env: { ...FAST, SUP_MANAGER_EXE: copy } });
    const a = await f.waitState("a", "RUNNING");
    const manager = f.managerPid()!;
    expect(manager).toBeNumber();
    renameSync(copy, away);
    process.kill(manager, "SIGKILL");
    // retried, not given up: at least two failures logged, naming the path
    const out = await waitFor("two spawn failures logged", () => f.output, (o) => count(o, /cannot spawn the manager \(/) >= 2, 20_000);
    expect(out).toContain(`cannot spawn the manager (${copy})`);
    expect(f.exitCode).toBeNull();
    expect(alive(f.proc!.pid)).toBe(true);
    // the dead manager's companion did not survive it
    await waitFor("the old companion to be gone", () => alive(a.pid!), (v) => !v, 15_000);
    expect(f.managerPid()).toBeUndefined();
    renameSync(away, copy);
    const a2 = await f.waitEntry("a", "to run again once the binary is back", (e) => e.state === "RUNNING" && e.pid !== a.pid, 30_000);
    expect(a2.pid).toBeNumber();
    expect(f.managerPid()).toBeNumber();
    f.signal("SIGTERM");
    expect(await f.waitExit()).toBe(0);
    await f.waitNoProcs();
  });
});

describe("out of file descriptors", () => {
  const N = 100;
  const names = Array.from({ length: N }, (_, i) => `s${String(i).padStart(3, "0")}`);
  const TOML = `
[defaults]
startsecs = 0
restart_delay = 0.2
max_restart_delay = 1
stop_timeout = 5
${names.map((n) => `\n[companions.${n}]\ncommand = "sleep 100000"\n`).join("")}`;

  const byState = (entries: Entry[]) => {
    const out: Record<string, Entry[]> = {};
    for (const e of entries) (out[e.state] ??= []).push(e);
    return out;
  };

  test("ulimit -n 64 with 100 companions: RUNNING and BACKOFF (too many open files), never FATAL; freed fds are used", async () => {
    f = new SupFixture(TOML);
    await f.start({ argv: ["sh", "-c", `ulimit -n 64 && exec "${SUP}" run -c "${f.config}"`] });
    // settle: some run, the rest wait in BACKOFF for fds
    const first = await waitFor(
      "some companions RUNNING and the rest in BACKOFF",
      () => f.status(),
      (l) => (byState(l).RUNNING?.length ?? 0) > 0 && (byState(l).BACKOFF?.length ?? 0) > 0 && l.every((e) => e.state === "RUNNING" || e.state === "BACKOFF" || e.state === "STARTING"),
      30_000,
    );
    const st = await f.ctl("status");
    expect([0, 4]).toContain(st.code);
    expect(st.stdout).toContain("s000");
    const manager = f.managerPid()!;
    const ticks = await ticksOver(manager);
    const entries = await f.status();
    const states = byState(entries);
    const running = states.RUNNING ?? [];
    const backoff = states.BACKOFF ?? [];
    console.log(`ulimit -n 64: ${running.length} RUNNING, ${backoff.length} BACKOFF, ${states.STARTING?.length ?? 0} STARTING; manager used ${ticks} ticks over 2 s`);
    expect(states.FATAL ?? []).toEqual([]);
    expect(running.length).toBeGreaterThan(0);
    expect(backoff.length).toBeGreaterThan(0);
    for (const e of backoff) expect(e.description).toContain("too many open files");
    expect(ticks).toBeLessThan(100);
    expect(first.length).toBe(N);
    expect(f.output).toMatch(/too many open files/);

    // stop up to 30 RUNNING ones (each holds a pidfd and its capture pipes): those in BACKOFF take their fds
    const stopped = running.slice(0, 30).map((e) => e.name);
    const want = Math.max(1, Math.floor(stopped.length / 2));
    const waiting = new Set(backoff.map((e) => e.name));
    const r = await f.ctl("stop", ...stopped);
    expect(r.code).toBe(0);
    const after = await waitFor(
      `${want} companions that were in BACKOFF to be RUNNING`,
      () => f.status(),
      (l) => l.filter((e) => waiting.has(e.name) && e.state === "RUNNING").length >= want,
      30_000,
    );
    const afterStates = byState(after);
    console.log(`after stopping ${stopped.length}: ${afterStates.RUNNING?.length ?? 0} RUNNING (${after.filter((e) => waiting.has(e.name) && e.state === "RUNNING").length} of them were in BACKOFF), ${afterStates.BACKOFF?.length ?? 0} BACKOFF, ${afterStates.STOPPED?.length ?? 0} STOPPED`);
    expect(afterStates.FATAL ?? []).toEqual([]);
    expect(after.filter((e) => stopped.includes(e.name)).every((e) => e.state === "STOPPED")).toBe(true);
    expect(f.exitCode).toBeNull();
    f.signal("SIGTERM");
    expect(await f.waitExit()).toBe(0);
    await f.waitNoProcs(() => true, "no process left", 15_000);
  });

  test("ulimit -n 64: 200 silent connections at once get a clear refusal or stay open; status still gets a reply", async () => {
    f = new SupFixture(TOML);
    await f.start({ argv: ["sh", "-c", `ulimit -n 64 && exec "${SUP}" run -c "${f.config}"`] });
    await waitFor("companions RUNNING and BACKOFF", () => f.status(), (l) => byState(l).RUNNING !== undefined && byState(l).BACKOFF !== undefined, 30_000);
    const manager = f.managerPid()!;
    const talks: Talk[] = [];
    const failed: string[] = [];
    try {
      // (Bun's client reports some refused connections as a connect error ECONNRESET: the reply
      // and the close arrive before its connect completes; a plain socket client reads the reply)
      const results = await Promise.allSettled(Array.from({ length: 200 }, () => connect(f.socket)));
      for (const r of results) {
        if (r.status === "fulfilled") talks.push(r.value);
        else failed.push(String((r.reason as NodeJS.ErrnoException)?.code ?? r.reason));
      }
      // a fresh client gets an answer: its status, or the clear refusal (never a hang or a reset)
      const reply = await waitFor(
        "a reply to status on a fresh connection",
        () => f.requestLines([JSON.stringify({ cmd: "status" })], 10_000).then((x) => x[0]!),
        (x) => x.ok === true || /out of file descriptors/.test(String(x.error)),
        20_000,
      );
      // every held connection either is open and silent, or got the refusal before its close
      const refused = await waitFor(
        "every refused connection to have its reply",
        () => talks.filter((t) => t.closed),
        (closed) => closed.every((t) => /out of file descriptors/.test(t.text)),
        10_000,
      );
      const open = talks.filter((t) => !t.closed);
      console.log(`200 silent connections: ${open.length} held open, ${refused.length} refused, ${failed.length} connect errors (${[...new Set(failed)].join(",")}); fresh status: ${reply.ok ? "ok" : reply.error}`);
      expect(open.every((t) => t.text === "")).toBe(true);
      expect(failed.filter((c) => c !== "ECONNRESET")).toEqual([]);
      // the limit was really reached: some were refused (read or reset at connect), not all held
      expect(refused.length + failed.length).toBeGreaterThan(0);
      expect(open.length).toBeLessThan(200);
      expect(f.managerPid()).toBe(manager);
    } finally {
      for (const t of talks) t.close();
    }
    const st = await waitFor("an ok status once the connections closed", () => f.request({ cmd: "status" }), (x) => x.ok === true, 20_000);
    expect((st.companions as Entry[]).some((e) => e.state === "FATAL")).toBe(false);
    expect(f.managerPid()).toBe(manager);
    f.signal("SIGTERM");
    expect(await f.waitExit()).toBe(0);
    await f.waitNoProcs((p) => true, "no process left", 15_000);
  });
});

describe("unbounded buffers (sup's own log)", () => {
  test("stderr a pipe nobody reads: the manager's memory stays bounded, the drop is reported once read again", async () => {
    f = new SupFixture(`
[defaults]
stop_timeout = 5

[companions.crash]
command = ["sh", "-c", "exit 1"]
startsecs = 0
restart_delay = 0
backoff = "fixed"
`);
    // a real pipe (a FIFO), so that nothing reads it until the test does
    const fifo = f.path("stderr.fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const wfd = openSync(fifo, constants.O_WRONLY);
    let proc: Subprocess | null = null;
    let exited: number | null = null;
    let text = "";
    const buf = Buffer.alloc(64 * 1024);
    const drain = () => {
      for (;;) {
        let n: number;
        try {
          n = readSync(rfd, buf, 0, buf.length, null);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EAGAIN") return text;
          throw e;
        }
        if (n === 0) return text;
        text += buf.toString("utf8", 0, n);
      }
    };
    try {
      proc = Bun.spawn([SUP, "run", "-c", f.config], { cwd: f.dir, env: f.env(), stdio: ["ignore", "ignore", wfd] });
      closeSync(wfd);
      void proc.exited.then((c) => (exited = c));
      await waitFor("sup to answer on its socket", () => f.request({ cmd: "version" }), (r) => r.ok === true, 15_000);
      const manager = f.managerPid()!;
      expect(manager).toBeNumber();
      let maxRss = 0;
      const t0 = performance.now();
      const e = await waitFor(
        "crash to have exited 3000 times",
        async () => {
          maxRss = Math.max(maxRss, rssKb(manager) ?? 0);
          return await f.entry("crash");
        },
        (x) => x.exit_count >= 3000,
        90_000,
        200,
      );
      maxRss = Math.max(maxRss, rssKb(manager) ?? 0);
      console.log(`3000 crashes in ${((performance.now() - t0) / 1000).toFixed(1)} s (exit_count ${e.exit_count}); manager VmRSS peak ${Math.round(maxRss / 1024)} MB`);
      expect(maxRss).toBeGreaterThan(0);
      expect(maxRss).toBeLessThan(200 * 1024);
      expect(exited).toBeNull();
      expect(f.managerPid()).toBe(manager);
      const stop = await f.ctl("stop", "crash");
      expect(stop.code).toBe(0);
      // reading again: the backlog drains and the drop is reported
      const out = await waitFor("the dropped-lines report on stderr", drain, (t) => /\d+ log line\(s\) dropped: stderr was not being read/.test(t), 20_000, 50);
      const dropped = Number(/(\d+) log line\(s\) dropped: stderr was not being read/.exec(out)![1]);
      console.log(`read ${out.length} bytes of stderr; ${dropped} line(s) reported dropped`);
      expect(dropped).toBeGreaterThan(0);
      expect(out).toContain(`sup[manager ${manager}]: ${dropped} log line(s) dropped`);
      proc.kill("SIGTERM");
      const code = await waitFor("sup run to exit", () => (drain(), exited), (c) => c !== null, 20_000, 50);
      expect(code).toBe(0);
    } finally {
      if (proc && exited === null) {
        proc.kill("SIGTERM");
        const c = await Promise.race([proc.exited, Bun.sleep(15_000).then(() => null)]);
        if (c === null) proc.kill("SIGKILL");
      }
      closeSync(rfd);
    }
  });
});

describe("a reread that cannot be applied in full", () => {
  const TOML = `
[defaults]
startsecs = 0
stop_timeout = 5

[companions.a]
command = "forever"
`;

  test("reread to a socket in a missing folder: ok with warnings, the old socket serves; once the folder exists it moves", async () => {
    f = new SupFixture(TOML);
    await f.start();
    const a = await f.waitState("a", "RUNNING");
    const moved = f.path("later/moved.sock");
    f.write(`[sup]\nsocket = "later/moved.sock"\n${TOML}`);
    const r = await f.request({ cmd: "reread" });
    expect(r.ok).toBe(true);
    expect(r.warnings).toBeArray();
    expect(r.warnings.length).toBeGreaterThan(0);
    expect(r.warnings.join("\n")).toContain(moved);
    expect(r.unchanged).toEqual(["a"]);
    // the old socket keeps serving, nothing restarted
    expect(await f.entry("a")).toMatchObject({ state: "RUNNING", pid: a.pid });
    expect(existsSync(moved)).toBe(false);
    // the folder appears: the next reread (asked over the old socket) moves it and is answered
    mkdirSync(f.path("later"));
    const r2 = await f.request({ cmd: "reread" });
    expect(r2).toMatchObject({ ok: true, warnings: [] });
    const st = await waitFor("ctl status on the new socket", () => f.sup(["ctl", "-s", moved, "status"]), (x) => x.code === 0);
    expect(st.stdout).toMatch(/\ba\s+RUNNING\b/);
    await waitFor("the old socket path to be gone", () => existsSync(f.socket), (v) => !v, 5_000);
    expect(f.exitCode).toBeNull();
  });

  test("SIGHUP with a socket in a missing folder: the log says what was not applied, the old socket serves", async () => {
    f = new SupFixture(TOML);
    await f.start();
    const a = await f.waitState("a", "RUNNING");
    f.write(`[sup]\nsocket = "later/moved.sock"\n${TOML}`);
    f.signal("SIGHUP");
    const out = await f.waitOutput(/reread: .*not applied: .*later\/moved\.sock/);
    expect(out).toContain(f.path("later/moved.sock"));
    expect(await f.entry("a")).toMatchObject({ state: "RUNNING", pid: a.pid });
    expect(existsSync(f.path("later/moved.sock"))).toBe(false);
  });
});

describe("events handled out of order after a stall", () => {
  test("a companion that died while the manager was stopped past its startsecs is never promoted to RUNNING", async () => {
    f = new SupFixture(`
[defaults]
stop_timeout = 5

[companions.flaky]
command = "sleep 1; exit 1"
startsecs = 3
`);
    await f.start();
    const manager = f.managerPid()!;
    expect(manager).toBeNumber();
    // catch a spawn early enough (a slow machine may show the first one late: then the next)
    let e: Entry | null = null;
    for (let attempt = 1; ; attempt++) {
      const prev = e?.pid ?? null;
      e = await f.waitEntry("flaky", "to be STARTING with a new pid", (x) => x.state === "STARTING" && x.pid !== null && x.pid !== prev, 20_000);
      if (Date.now() - e.started_at! * 1000 < 600 || attempt >= 5) break;
    }
    const exits0 = e.exit_count;
    // stop the manager ~0.3 s after the spawn: the exit (at 1 s) and the deadline (at 3 s) both
    // fall due during the stall
    const since = Date.now() - e.started_at! * 1000;
    if (since < 300) await Bun.sleep(300 - since); // the timing is the experiment
    const stoppedAfter = Date.now() - e.started_at! * 1000;
    process.kill(manager, "SIGSTOP");
    try {
      await Bun.sleep(5_000); // the stall is the experiment
    } finally {
      process.kill(manager, "SIGCONT");
    }
    const x = await f.waitEntry("flaky", "to have its exit counted", (v) => v.exit_count > exits0, 15_000);
    console.log(`manager stopped ${stoppedAfter} ms after the spawn for 5 s; then flaky ${x.state}, exit_count ${x.exit_count}`);
    expect(stoppedAfter).toBeLessThan(1_000); // else the experiment did not happen
    expect(["BACKOFF", "STARTING"]).toContain(x.state);
    expect(f.output).not.toMatch(/flaky STARTING -> RUNNING/);
    expect(f.output).toMatch(/flaky STARTING -> BACKOFF/);
  });
});

describe("what companions inherit", () => {
  test("the operator's soft RLIMIT_NOFILE (ulimit -Sn 1024), not the limit Bun raised for itself", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 5

[companions.lim]
command = ["sh", "-c", "ulimit -Sn > nofile.txt; exec sleep 100000"]
`);
    // `; true` keeps bash alive as sup's parent (no exec)
    await f.start({ argv: ["bash", "-c", `ulimit -Sn 1024 && "${SUP}" run -c "${f.config}"; true`] });
    // bash passes no signal on: stop sup itself, then bash ends with `true`
    const arbiter = childrenOf(f.proc!.pid).find((p) => p.cmd.includes(" run "));
    expect(arbiter).toBeDefined();
    try {
      await f.waitState("lim", "RUNNING");
      const got = await f.waitFile("nofile.txt", "to hold the soft limit", (t) => t.trim() !== "");
      expect(got.trim()).toBe("1024");
    } finally {
      process.kill(arbiter!.pid, "SIGTERM");
    }
    expect(await f.waitExit()).toBe(0);
    await f.waitNoProcs();
  });
});

describe("say why", () => {
  const TOML = `
[defaults]
startsecs = 0
stop_timeout = 5

[companions.a]
command = "forever"

[companions.t]
command = "tree"
`;

  test("SIGTERM sent straight to the manager: it says so, sup exits 0, nothing left", async () => {
    f = new SupFixture(TOML);
    await f.start();
    await f.waitState("a", "RUNNING");
    await f.waitState("t", "RUNNING");
    const manager = f.managerPid()!;
    expect(manager).toBeNumber();
    process.kill(manager, "SIGTERM");
    await f.waitOutput(new RegExp(`sup\\[manager ${manager}\\]: SIGTERM received`));
    expect(await f.waitExit()).toBe(0);
    await f.waitNoProcs();
    expect(f.output).not.toContain("died unexpectedly");
  });

  test("SIGKILL of the arbiter: the manager says the arbiter is gone, every companion goes", async () => {
    // deaf ignores SIGTERM and has a long stop_timeout: only the orphaned manager's short stop
    // cap gets it killed within the deadline below
    f = new SupFixture(`${TOML}
[companions.deaf]
command = "ignore-term"
stop_timeout = 60
stdout = "deaf.log"
`);
    await f.start();
    await f.waitState("a", "RUNNING");
    await f.waitState("t", "RUNNING");
    await f.waitState("deaf", "RUNNING");
    await f.waitReady("deaf");
    const arbiter = f.proc!.pid;
    f.signal("SIGKILL");
    await f.waitExit();
    await f.waitNoProcs(() => true, "every companion and the manager gone", 20_000);
    expect(f.output).toMatch(new RegExp(`arbiter ${arbiter} is gone`));
    expect(f.output).not.toMatch(/SIGTERM received/);
  });
});
