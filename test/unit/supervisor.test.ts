// Loop tests: the Supervisor with a FakeHost (virtual monotonic clock, one timer, recorded
// spawns/signals/logs, exits the test triggers). No process is spawned, no time passes.
import { describe as group, expect, test } from "bun:test";
import { Supervisor } from "../../src/manager/supervisor.ts";
import { FakeHost, WALL_OFFSET } from "../helpers/fake-host.ts";
import { makeConfig, type RawTable } from "../helpers/specs.ts";

function setup(companions: Record<string, RawTable>, top: { sup?: RawTable; defaults?: RawTable } = {}) {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig(companions, top), host);
  const st = (name: string) => {
    const e = sup.status([name])[0];
    if (!e) throw new Error(`no status for ${name}`);
    return e;
  };
  return { host, sup, st };
}

group("timers", () => {
  test("STARTING -> RUNNING exactly at startsecs, not a millisecond before", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 2 } });
    host.advanceTo(100);
    sup.startAll();
    const pid = host.pidOf("web");
    expect(st("web")).toMatchObject({ state: "STARTING", pid, started_at: (WALL_OFFSET + 100) / 1000 });
    expect(host.timerAt).toBe(2100);
    host.advanceTo(2099);
    expect(st("web").state).toBe("STARTING");
    host.advance(1);
    expect(st("web")).toMatchObject({ state: "RUNNING", pid, description: "running, pid 1000, uptime 0:00:02" });
    expect(host.logs).toContain("web STARTING -> RUNNING (up 2s, pid 1000)");
    // the one timer now waits for the stable window
    expect(host.timerAt).toBe(4100);
  });

  test("startsecs = 0: RUNNING as soon as spawned", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 0 } });
    sup.startAll();
    expect(st("web")).toMatchObject({ state: "RUNNING", pid: host.pidOf("web") });
  });

  test("one timer, always armed for the earliest deadline of all companions", () => {
    const { host, sup, st } = setup({ a: { command: "a", startsecs: 1 }, b: { command: "b", startsecs: 3 } });
    sup.startAll();
    expect(host.timerAt).toBe(1000);
    host.advanceTo(1000);
    expect(st("a").state).toBe("RUNNING");
    expect(st("b").state).toBe("STARTING");
    expect(host.timerAt).toBe(2000); // a's stable window ends before b's promotion
    host.advanceTo(3000);
    expect(st("b").state).toBe("RUNNING");
    expect(host.timerAt).toBe(6000);
    host.advanceTo(6000);
    expect(host.timerAt).toBeNull();
  });

  test("fixed backoff: the retry comes exactly restart_delay after the exit, every time", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 1, restart_delay: 3, backoff: "fixed" } });
    sup.startAll();
    host.advanceTo(500);
    host.exitOf("web", 1);
    expect(st("web")).toMatchObject({
      state: "BACKOFF",
      pid: null,
      restart_delay: 3,
      next_retry_at: (WALL_OFFSET + 3500) / 1000,
      description: "backoff, exited with status 1, retrying in 3s",
      last_exit_code: 1,
      exit_count: 1,
    });
    expect(host.timerAt).toBe(3500);
    host.advanceTo(3499);
    expect(host.spawnsOf("web")).toHaveLength(1);
    host.advance(1);
    expect(host.spawnsOf("web")).toHaveLength(2);
    expect(st("web")).toMatchObject({ state: "STARTING", restart_count: 1 });
    host.exitOf("web", 1);
    expect(host.timerAt).toBe(6500);
    expect(st("web").restart_delay).toBe(3);
  });

  test("exponential backoff doubles up to max_restart_delay, and resets after RUNNING + the stable window", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 1, restart_delay: 1, backoff: "exponential", max_restart_delay: 5 } });
    sup.startAll();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      host.exitOf("web", 1);
      const retryAt = host.timerAt!;
      delays.push(retryAt - host.mono);
      expect(st("web").restart_delay).toBe(delays[i]! / 1000);
      host.advanceTo(retryAt - 1);
      expect(host.spawnsOf("web")).toHaveLength(i + 1);
      host.advance(1);
      expect(host.spawnsOf("web")).toHaveLength(i + 2);
    }
    expect(delays).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(st("web").restart_count).toBe(5);

    // RUNNING, but dies 1 ms before the stable window ends: the delay keeps its size
    const t = host.mono;
    host.advanceTo(t + 1000);
    expect(st("web").state).toBe("RUNNING");
    host.advanceTo(t + 1999);
    host.exitOf("web", 1);
    expect(host.timerAt! - host.mono).toBe(5000);

    // up for startsecs, then startsecs more: forgiven, and its end is retried at once
    host.advanceTo(host.timerAt!);
    const t2 = host.mono;
    host.advanceTo(t2 + 2000);
    expect(st("web").state).toBe("RUNNING");
    host.advanceTo(t2 + 10_000);
    const spawns = host.spawnsOf("web").length;
    host.exitOf("web", 1);
    expect(host.spawnsOf("web")).toHaveLength(spawns + 1);
    expect(st("web")).toMatchObject({ state: "STARTING", restart_count: 7 });
    // the first failed run after it waits restart_delay again
    host.exitOf("web", 1);
    expect(host.timerAt! - host.mono).toBe(1000);
    expect(st("web").description).toBe("backoff, exited with status 1, retrying in 1s");
  });

  test("backoff is exponential by default", () => {
    const { host, sup, st } = setup({ web: { command: "prog", restart_delay: 1 } });
    sup.startAll();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      host.exitOf("web", 1);
      delays.push(st("web").restart_delay!);
      host.advanceTo(host.timerAt!);
    }
    expect(delays).toEqual([1, 2, 4, 8]);
  });

  test("the end of a stable run is retried in the same turn (no timer); a crash right after waits restart_delay", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 2, restart_delay: 30 } });
    sup.startAll();
    const first = host.pidOf("web");
    host.advanceTo(2000);
    expect(st("web").state).toBe("RUNNING");
    expect(host.timerAt).toBe(4000);
    host.advanceTo(3_600_000);
    host.exitPid(first, null, "SIGKILL");
    expect(host.spawnsOf("web")).toHaveLength(2);
    expect(st("web")).toMatchObject({ state: "STARTING", pid: host.pidOf("web"), restart_count: 1, last_exit_signal: "SIGKILL" });
    expect(host.logs).toContain(`web RUNNING -> BACKOFF (killed by SIGKILL, pid ${first})`);
    expect(host.logs).toContain("web BACKOFF -> STARTING (retry 1)");
    // not stable yet: this one's end is a failed run
    host.advance(500);
    host.exitOf("web", 1);
    expect(st("web")).toMatchObject({ state: "BACKOFF", restart_delay: 30, description: "backoff, exited with status 1, retrying in 30s" });
    expect(host.spawnsOf("web")).toHaveLength(2);
  });

  test("max_restarts: FATAL after that many consecutive failed runs, no timer left; a manual start tries again", () => {
    const { host, sup, st } = setup({ web: { command: "prog", restart_delay: 1, max_restarts: 3 } });
    sup.startAll();
    host.exitOf("web", 1);
    host.advanceTo(host.timerAt!);
    host.exitOf("web", 1);
    host.advanceTo(host.timerAt!);
    expect(host.spawnsOf("web")).toHaveLength(3);
    host.exitOf("web", 1);
    expect(st("web")).toMatchObject({ state: "FATAL", pid: null, description: "fatal, gave up after 3 failed runs", last_exit_code: 1, exit_count: 3, restart_count: 2 });
    expect(host.timerAt).toBeNull();
    host.advance(3_600_000);
    expect(host.spawnsOf("web")).toHaveLength(3);
    expect(sup.command("start", "web")).toEqual({ ok: true, message: "web started" });
    host.exitOf("web", 1);
    expect(st("web")).toMatchObject({ state: "BACKOFF", restart_delay: 1 });
  });

  test("max_restarts with fail_fast: giving up stops sup with exit code 1", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart_delay: 0, max_restarts: 2 }, b: { command: "b" } }, { sup: { fail_fast: true } });
    sup.startAll();
    host.exitOf("a", 7);
    host.exitOf("a", 7);
    expect(st("a").state).toBe("FATAL");
    expect(host.stoppingCodes).toEqual([1]);
    host.exitOf("b", null, "SIGTERM");
    expect(host.exitCodes).toEqual([1]);
  });

  test("restart_delay = 0 retries in the same turn, without waiting for a timer", () => {
    const { host, sup, st } = setup({ web: { command: "prog", restart_delay: 0 } });
    sup.startAll();
    host.exitOf("web", 1);
    expect(host.spawnsOf("web")).toHaveLength(2);
    expect(st("web")).toMatchObject({ state: "STARTING", restart_count: 1 });
  });
});

group("stop and restart", () => {
  test("stop: stop_signal to the group now, SIGKILL to the group exactly at stop_timeout, STOPPED on exit", () => {
    const { host, sup, st } = setup({ web: { command: "prog", stop_signal: "SIGINT", stop_timeout: 4, reload_timeout: 1 } });
    sup.startAll();
    const pid = host.pidOf("web");
    host.advanceTo(5000);
    expect(sup.command("stop", "web")).toEqual({ ok: true, message: "web stopping" });
    expect(host.signals).toEqual([{ pid, signal: "SIGINT", group: true, at: 5000 }]);
    expect(st("web")).toMatchObject({ state: "STOPPING", manual_stop: true, description: "stopping" });
    host.advanceTo(8999);
    expect(host.signals).toHaveLength(1);
    host.advance(1);
    expect(host.signals).toEqual([
      { pid, signal: "SIGINT", group: true, at: 5000 },
      { pid, signal: "SIGKILL", group: true, at: 9000 },
    ]);
    expect(sup.command("stop", "web")).toEqual({ ok: true, message: "web already stopping" });
    host.exitPid(pid, null, "SIGKILL");
    expect(st("web")).toMatchObject({ state: "STOPPED", pid: null, description: "stopped, stopped manually", last_exit_signal: "SIGKILL", exit_count: 1 });
    expect(host.timerAt).toBeNull();
    host.advance(100_000);
    expect(host.spawnsOf("web")).toHaveLength(1);
    expect(sup.command("stop", "web")).toEqual({ ok: true, message: "web already stopped" });
  });

  test("a process that exits on stop_signal gets no SIGKILL", () => {
    const { host, sup } = setup({ web: { command: "prog", stop_timeout: 2 } });
    sup.startAll();
    const pid = host.pidOf("web");
    sup.command("stop", "web");
    host.advance(1000);
    host.exitPid(pid, 0);
    host.advance(60_000);
    expect(host.signals.map((s) => s.signal)).toEqual(["SIGTERM"]);
  });

  test("restart: the stop uses reload_timeout; the new process is spawned once the old one is gone", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 1, stop_timeout: 10, reload_timeout: 3 } });
    sup.startAll();
    const old = host.pidOf("web");
    host.advanceTo(2000);
    expect(sup.command("restart", "web")).toEqual({ ok: true, message: "web restarting" });
    expect(host.signals).toEqual([{ pid: old, signal: "SIGTERM", group: true, at: 2000 }]);
    expect(sup.command("start", "web")).toEqual({ ok: false, message: "web is stopping; retry", code: "STOPPING" });
    expect(sup.command("restart", "web")).toEqual({ ok: false, message: "web is stopping; retry", code: "STOPPING" });
    host.advanceTo(4999);
    expect(host.signals).toHaveLength(1);
    host.advance(1);
    expect(host.signals[1]).toEqual({ pid: old, signal: "SIGKILL", group: true, at: 5000 });
    // never two live processes of one name
    expect(host.spawnsOf("web")).toHaveLength(1);
    host.exitPid(old, null, "SIGKILL");
    const fresh = host.pidOf("web");
    expect(fresh).not.toBe(old);
    expect(host.spawnsOf("web")[1]!.at).toBe(5000);
    expect(st("web")).toMatchObject({ state: "STARTING", pid: fresh, restart_count: 1, manual_stop: false });
  });

  test("restart pending: a quick exit respawns at once and the old SIGKILL deadline is gone", () => {
    const { host, sup, st } = setup({ web: { command: "prog", reload_timeout: 3 } });
    sup.startAll();
    const old = host.pidOf("web");
    sup.command("restart", "web");
    host.advance(500);
    host.exitPid(old, 0);
    expect(host.live("web")).toHaveLength(1);
    host.advance(60_000);
    expect(host.signals.filter((s) => s.signal === "SIGKILL")).toEqual([]);
    expect(st("web").state).toBe("RUNNING");
  });

  test("a stop sent during a restart wins", () => {
    const { host, sup, st } = setup({ web: { command: "prog" } });
    sup.startAll();
    const pid = host.pidOf("web");
    sup.command("restart", "web");
    expect(sup.command("stop", "web")).toEqual({ ok: true, message: "web already stopping" });
    host.exitPid(pid, 0);
    expect(st("web")).toMatchObject({ state: "STOPPED", manual_stop: true, pid: null });
    host.advance(60_000);
    expect(host.spawnsOf("web")).toHaveLength(1);
    expect(sup.command("start", "web")).toEqual({ ok: true, message: "web started" });
    expect(host.spawnsOf("web")).toHaveLength(2);
    expect(st("web")).toMatchObject({ state: "STARTING", manual_stop: false, restart_count: 0 });
  });

  test("stop during BACKOFF cancels the retry", () => {
    const { host, sup, st } = setup({ web: { command: "prog", restart_delay: 2 } });
    sup.startAll();
    host.exitOf("web", 1);
    expect(sup.command("stop", "web")).toEqual({ ok: true, message: "web stopped" });
    expect(st("web")).toMatchObject({ state: "STOPPED", next_retry_at: null, restart_delay: null });
    expect(host.timerAt).toBeNull();
    host.advance(60_000);
    expect(host.spawnsOf("web")).toHaveLength(1);
  });

  test("unknown names are refused with BAD_NAME", () => {
    const { sup } = setup({ web: { command: "prog" } });
    expect(sup.command("start", "ghost")).toEqual({ ok: false, message: "unknown companion ghost", code: "BAD_NAME" });
    expect(sup.signal("ghost", "SIGHUP", false)).toMatchObject({ ok: false, code: "BAD_NAME" });
  });

  test("signal goes to the main pid or its group; NOT_RUNNING without a process", () => {
    const { host, sup } = setup({ web: { command: "prog" } });
    expect(sup.signal("web", "SIGHUP", false)).toMatchObject({ ok: false, code: "NOT_RUNNING" });
    sup.startAll();
    const pid = host.pidOf("web");
    expect(sup.signal("web", "SIGHUP", false).ok).toBe(true);
    expect(sup.signal("web", "SIGUSR1", true).ok).toBe(true);
    expect(host.signals).toEqual([
      { pid, signal: "SIGHUP", group: false, at: 0 },
      { pid, signal: "SIGUSR1", group: true, at: 0 },
    ]);
  });

  test("a spawn failure is FATAL with its reason and is not retried", () => {
    const { host, sup, st } = setup({ foo: { command: "foo" } });
    host.failNextSpawn("foo", "command not found: foo");
    sup.startAll();
    expect(st("foo")).toMatchObject({ state: "FATAL", pid: null, description: "fatal, command not found: foo" });
    expect(host.timerAt).toBeNull();
    expect(host.logs).toContain("foo STARTING -> FATAL (command not found: foo)");
    expect(sup.command("start", "foo")).toEqual({ ok: true, message: "foo started" });
    expect(st("foo").state).toBe("STARTING");
  });
});

group("exit reports", () => {
  test("an exit reported inside spawn(), before it returns the pid, is handled after the spawn", () => {
    const { host, sup, st } = setup({ web: { command: "prog", restart_delay: 2 } });
    host.exitDuringNextSpawn("web", 1);
    sup.startAll();
    expect(st("web")).toMatchObject({ state: "BACKOFF", pid: null, exit_count: 1, last_exit_code: 1 });
    expect(host.logs).toContain("web STARTING -> BACKOFF (exited with status 1, pid 1000)");
    expect(host.logs.filter((l) => l.startsWith("warning"))).toEqual([]);
    host.advance(2000);
    expect(st("web")).toMatchObject({ state: "STARTING", pid: 1001 });
  });

  test("an instant exit with restart = never ends in EXITED", () => {
    const { host, sup, st } = setup({ job: { command: "prog", restart: "never" } });
    host.exitDuringNextSpawn("job", 0);
    sup.startAll();
    expect(st("job")).toMatchObject({ state: "EXITED", description: "exited, exited with status 0" });
  });

  test("an exit of an old or unknown pid is ignored with a warning", () => {
    const { host, sup, st } = setup({ web: { command: "prog", reload_timeout: 3 } });
    sup.startAll();
    const old = host.pidOf("web");
    sup.command("restart", "web");
    host.exitPid(old, 0);
    const fresh = host.pidOf("web");
    const before = st("web");
    // the old pid reported again, and a pid nobody spawned
    host.reportExit(old, old, 0);
    host.reportExit(fresh, 4242, 1);
    expect(st("web")).toEqual(before);
    expect(host.logs.filter((l) => l.startsWith("warning: web: ignored exit of pid"))).toHaveLength(2);
    expect(host.live("web").map((p) => p.pid)).toEqual([fresh]);
  });

  test("the loop tells the host which process groups it owns", () => {
    const { host, sup } = setup({ web: { command: "prog", stop_signal: "SIGINT", stop_timeout: 4, reload_timeout: 6 } });
    sup.startAll();
    const pid = host.pidOf("web");
    // the arbiter stops a dead manager's groups at their stop_timeout
    expect([...host.owned.values()]).toEqual([{ pgid: pid, signal: "SIGINT", stopMs: 4000 }]);
    host.exitPid(pid, 1);
    expect(host.owned.size).toBe(0);
  });
});

group("reread", () => {
  const four = { a: { command: "a" }, b: { command: "b" }, c: { command: "c" }, d: { command: "d" } };

  test("the per-companion diff: added, removed, restarted, unchanged", () => {
    const { host, sup, st } = setup(four);
    sup.startAll();
    host.advanceTo(1000);
    const pids = Object.fromEntries(["a", "b", "c", "d"].map((n) => [n, host.pidOf(n)]));
    sup.command("stop", "d");
    host.exitOf("d", 0);
    const signalsBefore = host.signals.length;

    const next = makeConfig({ a: { command: "a" }, b: { command: "b --new", restart_delay: 5 }, d: { command: "d --new", stop_timeout: 20 }, e: { command: "e" } });
    expect(sup.reread(next)).toEqual({ added: ["e"], removed: ["c"], restarted: ["b"], updated: [], unchanged: ["a", "d"], warnings: [] });
    expect(sup.current).toBe(next);

    // a: untouched, same pid
    expect(st("a")).toMatchObject({ state: "RUNNING", pid: pids.a });
    expect(host.signalsTo(pids.a!)).toEqual([]);
    // b: restarts with its new settings once the old process is gone
    expect(host.signals.slice(signalsBefore)).toEqual(
      expect.arrayContaining([
        { pid: pids.b, signal: "SIGTERM", group: true, at: 1000 },
        { pid: pids.c, signal: "SIGTERM", group: true, at: 1000 },
      ]),
    );
    expect(host.signals.slice(signalsBefore)).toHaveLength(2);
    expect(st("b").state).toBe("STOPPING");
    host.exitOf("b", 0);
    expect(host.live("b")[0]!.spec.restartDelayMs).toBe(5000);
    expect(st("b")).toMatchObject({ state: "STARTING", restart_count: 1 });
    // c: stopped, still supervised (and in status) until its process is gone
    expect(st("c")).toMatchObject({ state: "STOPPING", pid: pids.c });
    expect(sup.names()).toEqual(["a", "b", "d", "e", "c"]);
    expect(sup.status().map((e) => e.name)).toEqual(["a", "b", "d", "e", "c"]);
    host.exitOf("c", null, "SIGTERM");
    expect(sup.has("c")).toBe(false);
    expect(sup.names()).toEqual(["a", "b", "d", "e"]);
    // d: manually stopped, keeps the new config, stays stopped
    expect(st("d")).toMatchObject({ state: "STOPPED", manual_stop: true });
    expect(sup.get("d")!.spec.stopTimeoutMs).toBe(20_000);
    expect(host.spawnsOf("d")).toHaveLength(1);
    // e: started
    expect(st("e").state).toBe("STARTING");
    expect(host.live("e")).toHaveLength(1);
  });

  test("the same config again changes nothing", () => {
    const { host, sup } = setup(four);
    sup.startAll();
    expect(sup.reread(makeConfig(four))).toEqual({ added: [], removed: [], restarted: [], updated: [], unchanged: ["a", "b", "c", "d"], warnings: [] });
    expect(host.signals).toEqual([]);
    expect(host.procs).toHaveLength(4);
  });

  test("the lists are sorted", () => {
    const { sup } = setup({ z: { command: "z" }, y: { command: "y" }, m: { command: "m" } });
    sup.startAll();
    expect(sup.reread(makeConfig({ x: { command: "x" }, w: { command: "w" }, m: { command: "m2" } }))).toEqual({
      added: ["w", "x"],
      removed: ["y", "z"],
      restarted: ["m"],
      updated: [],
      unchanged: [],
      warnings: [],
    });
  });

  test("a removed companion that ignores its stop signal is SIGKILLed at stop_timeout and forgotten only once gone", () => {
    const { host, sup } = setup({ a: { command: "a" }, stubborn: { command: "s", stop_timeout: 2 } });
    sup.startAll();
    const pid = host.pidOf("stubborn");
    host.advanceTo(100);
    sup.reread(makeConfig({ a: { command: "a" } }));
    host.advanceTo(2099);
    expect(sup.has("stubborn")).toBe(true);
    expect(host.signalsTo(pid).map((s) => s.signal)).toEqual(["SIGTERM"]);
    host.advance(1);
    expect(host.signalsTo(pid)).toEqual([
      { pid, signal: "SIGTERM", group: true, at: 100 },
      { pid, signal: "SIGKILL", group: true, at: 2100 },
    ]);
    expect(sup.status().map((e) => [e.name, e.state])).toEqual([
      ["a", "RUNNING"],
      ["stubborn", "STOPPING"],
    ]);
    host.exitPid(pid, null, "SIGKILL");
    expect(sup.has("stubborn")).toBe(false);
    expect(sup.names()).toEqual(["a"]);
  });

  test("a removed companion without a process is forgotten at once", () => {
    const { host, sup } = setup({ a: { command: "a" }, b: { command: "b", restart_delay: 5 } });
    sup.startAll();
    host.exitOf("b", 1); // BACKOFF
    expect(sup.reread(makeConfig({ a: { command: "a" } })).removed).toEqual(["b"]);
    expect(sup.has("b")).toBe(false);
    host.advance(60_000);
    expect(host.spawnsOf("b")).toHaveLength(1);
  });

  test("a name removed and re-added while its old process drains starts only after that process exits", () => {
    const { host, sup, st } = setup({ a: { command: "a" }, c: { command: "c-old" } });
    sup.startAll();
    const old = host.pidOf("c");
    sup.reread(makeConfig({ a: { command: "a" } }));
    expect(st("c").state).toBe("STOPPING");
    // removing it again while it drains does not list it twice
    expect(sup.reread(makeConfig({ a: { command: "a" } }))).toEqual({ added: [], removed: [], restarted: [], updated: [], unchanged: ["a"], warnings: [] });
    expect(sup.reread(makeConfig({ a: { command: "a" }, c: { command: "c-new" } }))).toEqual({ added: ["c"], removed: [], restarted: [], updated: [], unchanged: ["a"], warnings: [] });
    expect(host.spawnsOf("c")).toHaveLength(1);
    expect(host.live("c").map((p) => p.pid)).toEqual([old]);
    expect(sup.names()).toEqual(["a", "c"]);
    host.exitOf("c", null, "SIGTERM");
    expect(host.live("c")).toHaveLength(1);
    expect(host.live("c")[0]!.spec.command).toBe("c-new");
    expect(st("c")).toMatchObject({ state: "STARTING", manual_stop: false });
    expect(sup.has("c")).toBe(true);
  });

  test("a changed companion in BACKOFF restarts at once with the new config", () => {
    const { host, sup, st } = setup({ b: { command: "b", restart_delay: 30 } });
    sup.startAll();
    host.exitOf("b", 1);
    expect(sup.reread(makeConfig({ b: { command: "b2", restart_delay: 30 } })).restarted).toEqual(["b"]);
    expect(host.live("b")[0]!.spec.command).toBe("b2");
    expect(st("b")).toMatchObject({ state: "STARTING", restart_count: 1 });
  });
});

group("stopAll", () => {
  test("graceful: every stop_signal at once, each SIGKILL at its own stop_timeout, exit(0) once when all are gone", () => {
    const { host, sup, st } = setup({
      a: { command: "a", stop_timeout: 5 },
      b: { command: "b", restart_delay: 10 },
      c: { command: "c" },
      d: { command: "d", stop_timeout: 2, stop_signal: "SIGINT" },
    });
    sup.startAll();
    host.advanceTo(1000);
    host.exitOf("b", 1); // BACKOFF
    sup.command("stop", "c");
    host.exitOf("c", 0); // STOPPED
    const [a, d] = [host.pidOf("a"), host.pidOf("d")];
    host.advanceTo(2000);
    sup.stopAll(false);
    expect(host.stoppingCodes).toEqual([0]);
    expect(host.signals.filter((s) => s.at === 2000)).toEqual([
      { pid: a, signal: "SIGTERM", group: true, at: 2000 },
      { pid: d, signal: "SIGINT", group: true, at: 2000 },
    ]);
    expect(st("b").state).toBe("STOPPED");
    expect(sup.command("start", "b")).toEqual({ ok: false, message: "sup is shutting down; start refused", code: "STOPPING" });
    expect(sup.command("restart", "a")).toMatchObject({ ok: false, code: "STOPPING" });
    // drains overlap: d is killed at 2 s, a at 5 s
    host.advanceTo(4000);
    expect(host.signalsTo(d).map((s) => [s.signal, s.at])).toEqual([
      ["SIGINT", 2000],
      ["SIGKILL", 4000],
    ]);
    host.exitPid(d, null, "SIGKILL");
    expect(host.exitCodes).toEqual([]);
    host.advanceTo(7000);
    expect(host.signalsTo(a).map((s) => [s.signal, s.at])).toEqual([
      ["SIGTERM", 2000],
      ["SIGKILL", 7000],
    ]);
    host.exitPid(a, null, "SIGKILL");
    expect(host.exitCodes).toEqual([0]);
    sup.stopAll(false);
    sup.stopAll(true);
    host.advance(60_000);
    expect(host.exitCodes).toEqual([0]);
    expect(host.procs).toHaveLength(4); // a, b (no retry after the shutdown began), c, d
  });

  test("fast: SIGKILL to every group at once", () => {
    const { host, sup } = setup({ a: { command: "a" }, b: { command: "b" } });
    sup.startAll();
    const [a, b] = [host.pidOf("a"), host.pidOf("b")];
    host.advanceTo(500);
    sup.stopAll(true);
    expect(host.signals).toEqual([
      { pid: a, signal: "SIGKILL", group: true, at: 500 },
      { pid: b, signal: "SIGKILL", group: true, at: 500 },
    ]);
    host.exitPid(a, null, "SIGKILL");
    expect(host.exitCodes).toEqual([]);
    host.exitPid(b, null, "SIGKILL");
    expect(host.exitCodes).toEqual([0]);
  });

  test("a graceful stop escalates to fast on a second request", () => {
    const { host, sup } = setup({ a: { command: "a", stop_timeout: 30 } });
    sup.startAll();
    const a = host.pidOf("a");
    sup.stopAll(false);
    host.advance(100);
    sup.stopAll(true);
    expect(host.signalsTo(a).map((s) => s.signal)).toEqual(["SIGTERM", "SIGKILL"]);
    expect(host.stoppingCodes).toEqual([0]);
    host.exitPid(a, null, "SIGKILL");
    expect(host.exitCodes).toEqual([0]);
  });

  test("with nothing running, exit at once", () => {
    const { host, sup } = setup({ a: { command: "a" } });
    sup.stopAll(false);
    expect(host.exitCodes).toEqual([0]);
    expect(host.procs).toEqual([]);
  });

  test("a reread during a shutdown starts and restarts nothing", () => {
    const { host, sup, st } = setup({ a: { command: "a" }, b: { command: "b" } });
    sup.startAll();
    sup.stopAll(false);
    expect(sup.reread(makeConfig({ a: { command: "a2" }, b: { command: "b" }, e: { command: "e" } }))).toEqual({
      added: ["e"],
      removed: [],
      restarted: [],
      updated: [],
      unchanged: ["a", "b"],
      warnings: [],
    });
    expect(host.procs.map((p) => p.name)).toEqual(["a", "b"]);
    expect(st("e").state).toBe("STOPPED");
    host.exitOf("a", 0);
    host.exitOf("b", 0);
    expect(host.procs).toHaveLength(2);
    expect(host.exitCodes).toEqual([0]);
  });

  test("a restart in progress does not respawn during a shutdown", () => {
    const { host, sup } = setup({ a: { command: "a" } });
    sup.startAll();
    sup.command("restart", "a");
    sup.stopAll(false);
    host.exitOf("a", 0);
    expect(host.procs).toHaveLength(1);
    expect(host.exitCodes).toEqual([0]);
  });
});

group("fail_fast and essential", () => {
  test("fail_fast: a companion reaching EXITED stops everything; sup exits with its code", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart: "never" }, b: { command: "b" } }, { sup: { fail_fast: true } });
    sup.startAll();
    host.advanceTo(1500);
    host.exitOf("a", 3);
    expect(host.stoppingCodes).toEqual([3]);
    const b = host.pidOf("b");
    expect(host.signalsTo(b)).toEqual([{ pid: b, signal: "SIGTERM", group: true, at: 1500 }]);
    expect(host.logs.some((l) => l.startsWith("a ended (EXITED, exited with status 3)"))).toBe(true);
    expect(host.exitCodes).toEqual([]);
    host.exitPid(b, null, "SIGTERM");
    expect(st("b").state).toBe("STOPPED");
    expect(host.exitCodes).toEqual([3]);
  });

  test("fail_fast: exit 0 under restart = never exits 0", () => {
    const { host, sup } = setup({ a: { command: "a", restart: "never" } }, { sup: { fail_fast: true } });
    sup.startAll();
    host.exitOf("a", 0);
    expect(host.exitCodes).toEqual([0]);
  });

  test("success_exit_codes: an essential companion ending with a listed code stops sup with exit code 0", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart: "on-failure", success_exit_codes: [0, 3], essential: true }, b: { command: "b" } });
    sup.startAll();
    host.exitOf("a", 3);
    expect(st("a")).toMatchObject({ state: "EXITED", last_exit_code: 3 });
    expect(host.stoppingCodes).toEqual([0]);
    host.exitOf("b", null, "SIGTERM");
    expect(host.exitCodes).toEqual([0]);
  });

  test("success_exit_codes: on-failure restarts after an unlisted code, even 0", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart: "on-failure", success_exit_codes: [3] } }, { sup: { fail_fast: true } });
    sup.startAll();
    host.exitOf("a", 0);
    expect(st("a").state).toBe("BACKOFF");
    expect(host.stoppingCodes).toEqual([]);
  });

  test("fail_fast: a restart policy that restarts does not trigger it", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart: "on-failure" } }, { sup: { fail_fast: true } });
    sup.startAll();
    host.exitOf("a", 1);
    expect(st("a").state).toBe("BACKOFF");
    expect(host.stoppingCodes).toEqual([]);
  });

  test.each([
    ["SIGKILL", 137],
    ["SIGTERM", 143],
    ["SIGSEGV", 139],
  ])("essential killed by %s: exit code %p", (signal, code) => {
    const { host, sup } = setup({ a: { command: "a", restart: "never", essential: true }, b: { command: "b" } });
    sup.startAll();
    host.exitOf("a", null, signal);
    expect(host.stoppingCodes).toEqual([code]);
    host.exitOf("b", 0);
    expect(host.exitCodes).toEqual([code]);
  });

  test("an essential companion that cannot be spawned: FATAL, exit code 1", () => {
    const { host, sup, st } = setup({ b: { command: "b" }, a: { command: "a", essential: true } });
    host.failNextSpawn("a", "command not found: a");
    sup.startAll();
    expect(st("a").state).toBe("FATAL");
    expect(host.stoppingCodes).toEqual([1]);
    host.exitOf("b", null, "SIGTERM");
    expect(host.exitCodes).toEqual([1]);
  });

  test("a non-essential companion ending does not stop sup when fail_fast is off", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart: "never" }, b: { command: "b" } });
    sup.startAll();
    host.exitOf("a", 1);
    expect(st("a").state).toBe("EXITED");
    expect(host.stoppingCodes).toEqual([]);
    expect(host.signals).toEqual([]);
  });

  test("a manually stopped essential companion never triggers a shutdown", () => {
    const { host, sup, st } = setup({ a: { command: "a", restart: "never", essential: true }, b: { command: "b" } }, { sup: { fail_fast: true } });
    sup.startAll();
    sup.command("stop", "a");
    host.exitOf("a", 1);
    expect(st("a")).toMatchObject({ state: "STOPPED", manual_stop: true });
    expect(host.stoppingCodes).toEqual([]);
    expect(host.exitCodes).toEqual([]);
    expect(host.live("b")).toHaveLength(1);
  });

  test("the first ending wins the exit code; later endings during the shutdown change nothing", () => {
    const { host, sup } = setup({ a: { command: "a", restart: "never" }, b: { command: "b", restart: "never" } }, { sup: { fail_fast: true } });
    sup.startAll();
    host.exitOf("a", 4);
    host.exitOf("b", 9);
    expect(host.stoppingCodes).toEqual([4]);
    expect(host.exitCodes).toEqual([4]);
  });

  test("an operator stop exits 0 even when an essential companion is killed on the way", () => {
    const { host, sup } = setup({ a: { command: "a", restart: "never", essential: true } });
    sup.startAll();
    sup.stopAll(false);
    host.exitOf("a", null, "SIGTERM");
    expect(host.exitCodes).toEqual([0]);
  });
});
