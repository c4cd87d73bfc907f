// start / stop / restart from every state, with the contract's reply messages; promotion after
// startsecs; crash -> BACKOFF -> retry; FATAL with its reason; log files, env and cwd.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alive } from "../helpers/census.ts";
import { errReply, okReply, SUP, SupFixture } from "../helpers/sup.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const cmd = (c: string, name: string) => f.request({ cmd: c, name });

describe("commands from each state", () => {
  test("STOPPED: stop says already stopped, start spawns without counting a restart, restart counts one", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0.2
stop_timeout = 5
[companions.a]
command = "forever"
`);
    await f.start();
    const first = await f.waitState("a", "RUNNING");
    expect(await cmd("stop", "a")).toEqual(okReply("a stopping"));
    const stopped = await f.waitState("a", "STOPPED");
    expect(stopped).toMatchObject({ pid: null, manual_stop: true, description: "stopped, stopped manually" });
    expect(alive(first.pid!)).toBe(false);

    expect(await cmd("stop", "a")).toEqual(okReply("a already stopped"));
    expect(await f.entry("a")).toMatchObject({ state: "STOPPED", manual_stop: true });

    expect(await cmd("start", "a")).toEqual(okReply("a started"));
    const again = await f.waitState("a", "RUNNING");
    expect(again.pid).not.toBe(first.pid);
    expect(again.manual_stop).toBe(false);
    expect(again.restart_count).toBe(0); // a manual start does not count

    expect(await cmd("stop", "a")).toEqual(okReply("a stopping"));
    await f.waitState("a", "STOPPED");
    expect(await cmd("restart", "a")).toEqual(okReply("a started"));
    const third = await f.waitState("a", "RUNNING");
    expect(third.manual_stop).toBe(false);
    expect(third.restart_count).toBe(1);
  });

  test("STARTING: start says already starting, restart respawns, stop stops", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 60
stop_timeout = 5
reload_timeout = 5
[companions.a]
command = "forever"
`);
    await f.start();
    const first = await f.waitEntry("a", "to be STARTING with a pid", (e) => e.state === "STARTING" && e.pid !== null);
    expect(first.description).toBe("starting");
    expect(await cmd("start", "a")).toEqual(okReply("a already starting"));
    expect((await f.entry("a")).pid).toBe(first.pid);

    expect(await cmd("restart", "a")).toEqual(okReply("a restarting"));
    const second = await f.waitEntry("a", "to be STARTING with a new pid", (e) => e.state === "STARTING" && e.pid !== null && e.pid !== first.pid);
    expect(second.restart_count).toBe(1);
    expect(alive(first.pid!)).toBe(false);

    expect(await cmd("stop", "a")).toEqual(okReply("a stopping"));
    const stopped = await f.waitState("a", "STOPPED");
    expect(stopped.manual_stop).toBe(true);
    expect(alive(second.pid!)).toBe(false);
  });

  test("RUNNING: start says already running, restart gives a new pid and counts, stop stops", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0.2
stop_timeout = 5
reload_timeout = 5
[companions.a]
command = "forever"
`);
    await f.start();
    const first = await f.waitState("a", "RUNNING");
    expect(first.description).toMatch(new RegExp(`^running, pid ${first.pid}, uptime \\d+:\\d\\d:\\d\\d$`));
    expect(await cmd("start", "a")).toEqual(okReply("a already running"));
    expect((await f.entry("a")).pid).toBe(first.pid);

    expect(await cmd("restart", "a")).toEqual(okReply("a restarting"));
    const second = await f.waitEntry("a", "to be RUNNING with a new pid", (e) => e.state === "RUNNING" && e.pid !== first.pid);
    expect(second.restart_count).toBe(1);
    expect(second.manual_stop).toBe(false);
    expect(alive(first.pid!)).toBe(false);

    expect(await cmd("stop", "a")).toEqual(okReply("a stopping"));
    await f.waitState("a", "STOPPED");
    expect(alive(second.pid!)).toBe(false);
  });

  test("BACKOFF: start spawns at once (not counted), stop cancels the retry, restart spawns (counted)", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
restart_delay = 60
[companions.a]
command = ["exit-with", "1"]
`);
    await f.start();
    const b = await f.waitState("a", "BACKOFF");
    expect(b.pid).toBeNull();
    expect(b.last_exit_code).toBe(1);
    expect(b.exit_count).toBe(1);
    expect(b.restart_count).toBe(0);
    expect(b.restart_delay).toBe(60);
    expect(b.next_retry_at).toBeNumber();
    expect(b.next_retry_at! * 1000).toBeGreaterThan(Date.now() + 30_000);
    expect(b.description).toMatch(/^backoff, exited with status 1, retrying in \d+s$/);

    expect(await cmd("start", "a")).toEqual(okReply("a started"));
    const afterStart = await f.waitEntry("a", "to exit again and be in BACKOFF", (e) => e.state === "BACKOFF" && e.exit_count === 2);
    expect(afterStart.restart_count).toBe(0);

    expect(await cmd("stop", "a")).toEqual(okReply("a stopped"));
    const s = await f.entry("a");
    expect(s).toMatchObject({ state: "STOPPED", manual_stop: true, next_retry_at: null, restart_delay: null, pid: null });

    // back to BACKOFF, then restart
    expect(await cmd("start", "a")).toEqual(okReply("a started"));
    await f.waitEntry("a", "to be in BACKOFF again", (e) => e.state === "BACKOFF" && e.exit_count === 3);
    expect(await cmd("restart", "a")).toEqual(okReply("a started"));
    const r = await f.waitEntry("a", "to exit once more", (e) => e.state === "BACKOFF" && e.exit_count === 4);
    expect(r.restart_count).toBe(1);
    expect(r.manual_stop).toBe(false);
  });

  test("STOPPING: stop says already stopping, start and restart are refused with code STOPPING", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 60
[companions.a]
command = "ignore-term"
stdout = "a.log"
`);
    await f.start();
    const up = await f.waitState("a", "RUNNING");
    await f.waitReady("a"); // it ignores TERM only once its trap is set
    expect(await cmd("stop", "a")).toEqual(okReply("a stopping"));
    const s = await f.entry("a");
    expect(s).toMatchObject({ state: "STOPPING", pid: up.pid, description: "stopping" });
    expect(await cmd("stop", "a")).toEqual(okReply("a already stopping"));
    expect(await cmd("start", "a")).toEqual(errReply("a is stopping; retry", "STOPPING"));
    expect(await cmd("restart", "a")).toEqual(errReply("a is stopping; retry", "STOPPING"));
    expect(await f.entry("a")).toMatchObject({ state: "STOPPING", pid: up.pid });
    // end it without waiting 60 s
    expect((await f.request({ cmd: "signal", name: "a", signal: "SIGKILL", group: true })).ok).toBe(true);
    const done = await f.waitState("a", "STOPPED");
    expect(done.last_exit_signal).toBe("SIGKILL");
  });

  test("EXITED: stop says already stopped (and sets manual stop), start and restart spawn", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
restart = "never"
[companions.a]
command = "exit-with 0"
`);
    await f.start();
    const e = await f.waitState("a", "EXITED");
    expect(e).toMatchObject({ pid: null, last_exit_code: 0, last_exit_signal: null, exit_count: 1, description: "exited, exited with status 0", manual_stop: false });
    expect(await cmd("stop", "a")).toEqual(okReply("a already stopped"));
    expect((await f.entry("a")).manual_stop).toBe(true);
    expect(await cmd("start", "a")).toEqual(okReply("a started"));
    const e2 = await f.waitEntry("a", "to have exited twice", (x) => x.state === "EXITED" && x.exit_count === 2);
    expect(e2.manual_stop).toBe(false);
    expect(await cmd("restart", "a")).toEqual(okReply("a started"));
    await f.waitEntry("a", "to have exited three times", (x) => x.state === "EXITED" && x.exit_count === 3);
  });

  test("FATAL: stop says already stopped, start and restart try again and stay FATAL", async () => {
    f = new SupFixture(`
[companions.a]
command = ["sup-test-no-such-command"]
`);
    await f.start();
    const e = await f.waitState("a", "FATAL");
    expect(e).toMatchObject({ pid: null, description: "fatal, command not found: sup-test-no-such-command" });
    expect(await cmd("stop", "a")).toEqual(okReply("a already stopped"));
    expect((await f.entry("a")).manual_stop).toBe(true);
    expect(await cmd("start", "a")).toEqual(okReply("a started"));
    expect(await f.waitState("a", "FATAL")).toMatchObject({ manual_stop: false, description: "fatal, command not found: sup-test-no-such-command" });
    expect(await cmd("restart", "a")).toEqual(okReply("a started"));
    expect((await f.waitState("a", "FATAL")).manual_stop).toBe(false);
  });

  test("unknown companion: every per-name command is refused with BAD_NAME", async () => {
    f = new SupFixture(`
[companions.a]
command = "forever"
`);
    await f.start();
    for (const c of ["start", "stop", "restart"]) expect(await cmd(c, "nope")).toEqual(errReply("unknown companion nope", "BAD_NAME"));
  });
});

describe("transitions", () => {
  test("STARTING -> RUNNING once up for startsecs; startsecs = 0 is RUNNING at once", async () => {
    f = new SupFixture(`
[companions.slow]
command = "forever"
startsecs = 1.5
[companions.now]
command = "forever"
startsecs = 0
`);
    await f.start();
    const s = await f.waitEntry("slow", "to have a pid", (e) => e.pid !== null);
    expect(s.state).toBe("STARTING");
    expect(s.started_at).toBeNumber();
    const r = await f.waitState("slow", "RUNNING");
    expect(r.pid).toBe(s.pid);
    // promotion took at least startsecs after the spawn (wall clock, so leave a margin)
    expect(Date.now() - s.started_at! * 1000).toBeGreaterThanOrEqual(1300);
    const n = await f.waitEntry("now", "to have a pid", (e) => e.pid !== null);
    expect(n.state).toBe("RUNNING");
  });

  test("a crash goes to BACKOFF, then retries with restart_count incremented", async () => {
    f = new SupFixture(`
[companions.a]
command = ["exit-with", "1", "0.2"]
startsecs = 0
restart_delay = 1
`);
    await f.start();
    const b = await f.waitState("a", "BACKOFF");
    expect(b).toMatchObject({ restart_count: 0, exit_count: 1, last_exit_code: 1, restart_delay: 1, pid: null });
    const retried = await f.waitEntry("a", "to be retried", (e) => e.restart_count >= 1 && e.state !== "BACKOFF");
    expect(["STARTING", "RUNNING"]).toContain(retried.state);
    const b2 = await f.waitEntry("a", "to be in BACKOFF after its second run", (e) => e.state === "BACKOFF" && e.exit_count >= 2);
    expect(b2.restart_count).toBeGreaterThanOrEqual(1);
    await f.waitEntry("a", "to be retried twice", (e) => e.restart_count >= 2);
  });

  test("exit 0 under each restart policy; non-zero under on-failure", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
restart_delay = 60
[companions.always0]
command = "exit-with 0"
restart = "always"
[companions.onfail0]
command = "exit-with 0"
restart = "on-failure"
[companions.never0]
command = "exit-with 0"
restart = "never"
[companions.onfail3]
command = "exit-with 3"
restart = "on-failure"
[companions.never3]
command = "exit-with 3"
restart = "never"
[companions.onfailsig]
command = "kill-self USR1"
restart = "on-failure"
`);
    await f.start();
    expect(await f.waitState("always0", "BACKOFF")).toMatchObject({ last_exit_code: 0, description: expect.stringMatching(/^backoff, exited with status 0, retrying in \d+s$/) });
    expect(await f.waitState("onfail0", "EXITED")).toMatchObject({ last_exit_code: 0, description: "exited, exited with status 0" });
    expect(await f.waitState("never0", "EXITED")).toMatchObject({ last_exit_code: 0, description: "exited, exited with status 0" });
    expect(await f.waitState("onfail3", "BACKOFF")).toMatchObject({ last_exit_code: 3, description: expect.stringMatching(/^backoff, exited with status 3, retrying in \d+s$/) });
    expect(await f.waitState("never3", "EXITED")).toMatchObject({ last_exit_code: 3, description: "exited, exited with status 3" });
    expect(await f.waitState("onfailsig", "BACKOFF")).toMatchObject({ last_exit_code: null, last_exit_signal: "SIGUSR1", description: expect.stringMatching(/^backoff, killed by SIGUSR1, retrying in \d+s$/) });
  });
});

describe("FATAL: cannot be spawned, reason in the description", () => {
  test("missing command (array and plain string), missing cwd, unwritable log paths", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
restart_delay = 0.1
[companions.arr]
command = ["sup-test-missing-a", "--flag"]
[companions.str]
command = "sup-test-missing-b --flag value"
[companions.nocwd]
command = "forever"
cwd = "no-such-folder"
[companions.nologdir]
command = "forever"
stdout = "no-such-folder/out.log"
[companions.logisdir]
command = "forever"
stdout = "./adir"
[companions.errlog]
command = "forever"
stderr = "no-such-folder/err.log"
[companions.ok]
command = "forever"
`);
    f.mkdir("adir");
    await f.start();
    expect((await f.waitState("arr", "FATAL")).description).toBe("fatal, command not found: sup-test-missing-a");
    expect((await f.waitState("str", "FATAL")).description).toBe("fatal, command not found: sup-test-missing-b");
    const nocwd = await f.waitState("nocwd", "FATAL");
    expect(nocwd.description).toStartWith("fatal, ");
    expect(nocwd.description).toContain(f.path("no-such-folder"));
    const nolog = await f.waitState("nologdir", "FATAL");
    expect(nolog.description).toStartWith("fatal, ");
    expect(nolog.description).toContain(f.path("no-such-folder/out.log"));
    const isdir = await f.waitState("logisdir", "FATAL");
    expect(isdir.description).toStartWith("fatal, ");
    expect(isdir.description).toContain(f.path("adir"));
    const errlog = await f.waitState("errlog", "FATAL");
    expect(errlog.description).toContain(f.path("no-such-folder/err.log"));
    for (const n of ["arr", "str", "nocwd", "nologdir", "logisdir", "errlog"]) {
      expect(await f.entry(n)).toMatchObject({ pid: null, restart_count: 0, exit_count: 0 });
    }
    // FATAL is final: no retry (restart_delay is 0.1 s); the healthy one is unaffected
    await f.waitState("ok", "RUNNING");
    await Bun.sleep(400);
    expect(await f.entry("arr")).toMatchObject({ state: "FATAL", restart_count: 0 });
  });
});

describe("output, environment, folders", () => {
  test("stdout and stderr go to files, opened for append; stderr = \"stdout\" shares the file", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 5
reload_timeout = 5
[companions.shared]
command = "say shared"
stdout = "logs/shared.log"
stderr = "stdout"
[companions.split]
command = "say split"
stdout = "logs/split.out"
stderr = "logs/split.err"
[companions.quiet]
command = "say quiet"
stdout = "null"
stderr = "null"
`);
    f.mkdir("logs");
    f.write("old line\n", "logs/shared.log");
    await f.start();
    await f.waitFile("logs/shared.log", "to have both lines", (t) => t.includes("shared out") && t.includes("shared err"));
    const shared = f.read("logs/shared.log");
    expect(shared.split("\n").filter(Boolean).sort()).toEqual(["old line", "shared err", "shared out"].sort());
    expect(shared).toStartWith("old line\n");
    await f.waitFile("logs/split.out", "to have the stdout line", (t) => t === "split out\n");
    await f.waitFile("logs/split.err", "to have the stderr line", (t) => t === "split err\n");
    await f.waitState("quiet", "RUNNING");
    expect(f.output).not.toContain("quiet out");

    // a restart appends
    const before = await f.entry("shared");
    expect(await cmd("restart", "shared")).toEqual(okReply("shared restarting"));
    await f.waitEntry("shared", "to run again", (e) => e.state === "RUNNING" && e.pid !== before.pid);
    const after = await f.waitFile("logs/shared.log", "to have the lines twice", (t) => t.split("shared out").length === 3 && t.split("shared err").length === 3);
    expect(after).toStartWith("old line\n");

    // rotated away: the next start opens a new file at the path
    renameSync(f.path("logs/shared.log"), f.path("logs/shared.log.1"));
    const mid = await f.entry("shared");
    expect(await cmd("restart", "shared")).toEqual(okReply("shared restarting"));
    await f.waitEntry("shared", "to run again", (e) => e.state === "RUNNING" && e.pid !== mid.pid);
    const fresh = await f.waitFile("logs/shared.log", "to be written anew", (t) => t.includes("shared out") && t.includes("shared err"));
    expect(fresh.split("\n").filter(Boolean).sort()).toEqual(["shared err", "shared out"]);
  });

  test("env merge: inherited < defaults.env < companion env", async () => {
    f = new SupFixture(`
[defaults]
startsecs = 0
stdout = "env.log"
env = { SUP_T_B = "defaults", SUP_T_C = "defaults", SUP_T_N = 5 }
[companions.a]
command = "print-env SUP_T_A SUP_T_B SUP_T_C SUP_T_N SUP_T_D"
env = { SUP_T_C = "companion", SUP_T_D = "only-a" }
stdout = "a.log"
[companions.b]
command = "print-env SUP_T_A SUP_T_B SUP_T_C SUP_T_D"
stdout = "b.log"
`);
    await f.start({ env: { SUP_T_A: "inherited", SUP_T_B: "inherited", SUP_T_C: "inherited" } });
    const a = await f.waitFile("a.log", "to list 5 variables", (t) => t.split("\n").filter(Boolean).length === 5);
    expect(a).toBe("SUP_T_A=inherited\nSUP_T_B=defaults\nSUP_T_C=companion\nSUP_T_N=5\nSUP_T_D=only-a\n");
    const b = await f.waitFile("b.log", "to list 4 variables", (t) => t.split("\n").filter(Boolean).length === 4);
    expect(b).toBe("SUP_T_A=inherited\nSUP_T_B=defaults\nSUP_T_C=defaults\nSUP_T_D=\n");
  });

  test("companions see neither sup's internal variables nor a .env / bunfig.toml in sup's folder", async () => {
    f = new SupFixture(`
[companions.a]
command = "print-env SUP_T_DOTENV SUP_MANAGER_PARENT NODE_CHANNEL_FD SUP_T_KEPT"
startsecs = 0
stdout = "a.log"
`);
    f.write("SUP_T_DOTENV=leaked\n", ".env");
    f.write("[test]\ntimeout = 1\n", "bunfig.toml");
    await f.start({ env: { SUP_T_KEPT: "yes" } });
    const a = await f.waitFile("a.log", "to list 4 variables", (t) => t.split("\n").filter(Boolean).length === 4);
    expect(a).toBe("SUP_T_DOTENV=\nSUP_MANAGER_PARENT=\nNODE_CHANNEL_FD=\nSUP_T_KEPT=yes\n");
  });

  test("sup's own runtime setting (Bun's idle GC timer off) is not passed on; an operator's own value is", async () => {
    f = new SupFixture(`
[companions.a]
command = "print-env BUN_GC_TIMER_DISABLE SUP_ARBITER_EXEC"
startsecs = 0
stdout = "a.log"
`);
    await f.start();
    expect(await f.waitFile("a.log", "to list 2 variables", (t) => t.split("\n").filter(Boolean).length === 2)).toBe("BUN_GC_TIMER_DISABLE=\nSUP_ARBITER_EXEC=\n");
    // sup itself runs with it (the arbiter re-executed itself, same pid)
    const environ = (await Bun.file(`/proc/${f.proc!.pid}/environ`).text()).split("\0");
    expect(environ).toContain("BUN_GC_TIMER_DISABLE=1");
    await f.cleanup();
    f = new SupFixture(`
[companions.a]
command = "print-env BUN_GC_TIMER_DISABLE"
startsecs = 0
stdout = "a.log"
`);
    await f.start({ env: { BUN_GC_TIMER_DISABLE: "operator" } });
    expect(await f.waitFile("a.log", "to list 1 variable", (t) => t.includes("\n"))).toBe("BUN_GC_TIMER_DISABLE=operator\n");
  });

  test("cwd and every relative path resolve against the config file's folder", async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), "sup-test-cwd-"));
    try {
      f = new SupFixture(`
[defaults]
startsecs = 0
[companions.inwork]
command = "print-cwd"
cwd = "work"
stdout = "logs/inwork.log"
[companions.indefault]
command = "print-cwd"
stdout = "logs/indefault.log"
`);
      f.mkdir("work");
      f.mkdir("logs");
      // start() waits on <config folder>/sup.sock: the default socket resolves there too
      await f.start({ cwd: elsewhere });
      const real = realpathSync(f.dir);
      expect(await f.waitFile("logs/inwork.log", "to name the folder", (t) => t.length > 0)).toBe(`${real}/work\n`);
      expect(await f.waitFile("logs/indefault.log", "to name the folder", (t) => t.length > 0)).toBe(`${real}\n`);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });
});

describe("restart details", () => {
  test("exponential backoff doubles the delay per consecutive failure, capped at max_restart_delay", async () => {
    f = new SupFixture(`
[companions.a]
command = "exit-with 1"
startsecs = 0
restart_delay = 0.5
backoff = "exponential"
max_restart_delay = 1.5
`);
    await f.start();
    const delays: number[] = [];
    for (let n = 1; n <= 4; n++) {
      const e = await f.waitEntry("a", `to be in BACKOFF after exit ${n}`, (x) => x.state === "BACKOFF" && x.exit_count === n);
      delays.push(e.restart_delay!);
    }
    expect(delays).toEqual([0.5, 1, 1.5, 1.5]);
  });

  test("the end of a run that reached RUNNING and stayed up startsecs more is retried at once, every time (rev 2)", async () => {
    // each run is stable (RUNNING at 1 s, stable at 2 s, exits at 2.6 s): restart_delay is never waited
    f = new SupFixture(`
[companions.a]
command = "exit-with 1 2.6"
startsecs = 1
restart_delay = 20
backoff = "exponential"
max_restart_delay = 40
`);
    await f.start();
    const second = await f.waitEntry("a", "to run again after exit 1", (x) => x.exit_count === 1 && x.pid !== null, 10_000);
    const third = await f.waitEntry("a", "to run again after exit 2", (x) => x.exit_count === 2 && x.pid !== null, 10_000);
    expect([second.restart_count, third.restart_count]).toEqual([1, 2]);
  });

  test("a stop sent while a restart is under way wins: the companion ends STOPPED", async () => {
    f = new SupFixture(`
[companions.a]
command = "slow-stop 1"
startsecs = 0
stop_timeout = 10
reload_timeout = 10
stdout = "a.log"
`);
    await f.start();
    const a = await f.waitState("a", "RUNNING");
    await f.waitFile("a.log", "to say ready", (t) => t.includes("ready"));
    expect(await cmd("restart", "a")).toEqual(okReply("a restarting"));
    expect(await cmd("stop", "a")).toEqual(okReply("a already stopping"));
    const s = await f.waitState("a", "STOPPED");
    expect(s).toMatchObject({ manual_stop: true, pid: null, restart_count: 0 });
    expect(alive(a.pid!)).toBe(false);
    await Bun.sleep(300);
    expect((await f.entry("a")).state).toBe("STOPPED");
    await f.waitNoProcs((p) => p.cmd.includes("slow-stop"));
  });

  test("restart of a slow-stopping companion: the new process starts only once the old one is gone", async () => {
    f = new SupFixture(`
[companions.a]
command = "slow-stop 1"
startsecs = 0
stop_timeout = 10
reload_timeout = 10
stdout = "a.log"
`);
    await f.start();
    const a = await f.waitState("a", "RUNNING");
    await f.waitFile("a.log", "to say ready", (t) => t.includes("ready"));
    expect(await cmd("restart", "a")).toEqual(okReply("a restarting"));
    let most = 0;
    const b = await f.waitEntry("a", "to run again with a new pid", (e) => {
      // group leaders only: a shell's forked child carries its command line until it execs
      most = Math.max(most, f.census().filter((p) => p.cmd.includes("slow-stop") && p.pgid === p.pid).length);
      return e.state === "RUNNING" && e.pid !== a.pid;
    });
    expect(most).toBe(1);
    expect(b.restart_count).toBe(1);
    expect(b.last_exit_code).toBe(0); // slow-stop exits 0 on TERM after its second
  });

  test("each state change is logged: time, companion, FROM -> TO, reason with pid", async () => {
    f = new SupFixture(`
[companions.a]
command = "forever"
startsecs = 0
stop_timeout = 5
`);
    await f.start();
    const a = await f.waitState("a", "RUNNING");
    await cmd("stop", "a");
    await f.waitState("a", "STOPPED");
    const out = await f.waitOutput(/a STOPPING -> STOPPED/);
    const line = out.split("\n").find((l) => l.includes("a STOPPING -> STOPPED"))!;
    expect(line).toMatch(/\d\d:\d\d:\d\d/);
    expect(line).toContain("SIGTERM");
    expect(line).toContain(String(a.pid));
    expect(out).toMatch(/a STARTING -> RUNNING/);
    expect(out).toMatch(/a RUNNING -> STOPPING/);
  });

  test("a companion has only fds 0-2, default signal dispositions, an empty mask and its own group", async () => {
    f = new SupFixture(`
[companions.a]
command = ["sleep", "1000000"]
startsecs = 0
[companions.b]
command = "sleep 1000001"
stdout = "b.log"
stderr = "stdout"
`);
    await f.start();
    for (const n of ["a", "b"]) {
      const e = await f.waitState(n, "RUNNING");
      const pid = e.pid!;
      const fds = readdirSync(`/proc/${pid}/fd`).map(Number).sort((x, y) => x - y);
      expect({ n, fds }).toEqual({ n, fds: [0, 1, 2] });
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      expect(/^SigBlk:\s*(\S+)/m.exec(status)?.[1]).toMatch(/^0+$/);
      expect(/^SigIgn:\s*(\S+)/m.exec(status)?.[1]).toMatch(/^0+$/);
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const [, , pgid, sid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
      expect({ pgid, sid }).toEqual({ pgid: pid, sid: pid });
    }
  });
});

// CONTRACT §3: stderr = "stdout" shares stdout's destination; stdout defaults to "inherit".
test('stderr = "stdout" with stdout = "inherit": both go to sup\'s stdout', async () => {
  f = new SupFixture(`
[companions.a]
command = "say shared"
startsecs = 0
stderr = "stdout"
`);
  const p = Bun.spawn([SUP, "run", "-c", f.config], { cwd: f.dir, env: f.env(), stdio: ["ignore", "pipe", "pipe"] });
  f.proc = p; // so cleanup() stops it
  let out = "";
  let err = "";
  void (async () => {
    for await (const c of p.stdout) out += new TextDecoder().decode(c);
  })();
  void (async () => {
    for await (const c of p.stderr) err += new TextDecoder().decode(c);
  })();
  const deadline = performance.now() + 10_000;
  while (!(out + err).includes("shared err") && performance.now() < deadline) await Bun.sleep(25);
  expect(out).toContain("shared out");
  expect(out).toContain("shared err");
  expect(err).not.toContain("shared err");
});
