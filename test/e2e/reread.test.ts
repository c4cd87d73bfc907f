// reread: a transactional per-companion diff of the config file. Unchanged companions keep
// their pid; an invalid file changes nothing; removed companions are stopped to the end.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { alive } from "../helpers/census.ts";
import { SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const HEAD = `
[defaults]
startsecs = 0
stop_timeout = 5
reload_timeout = 5
restart_delay = 0.2
`;

test("add, remove, change and unchanged in one reread; lists sorted; status in the new config order", async () => {
  f = new SupFixture(`${HEAD}
[companions.keep]
command = "forever"
[companions.change]
command = "forever"
env = { V = "1" }
[companions.gone]
command = "forever"
[companions.gone2]
command = "forever"
`);
  await f.start();
  const before = await f.allRunning(["keep", "change", "gone", "gone2"]);
  f.write(`${HEAD}
[companions.zeta]
command = "forever"
[companions.change]
command = "forever"
env = { V = "2" }
[companions.keep]
command = "forever"
[companions.alpha]
command = "forever"
`);
  const r = await f.request({ cmd: "reread" });
  expect(r).toEqual({ ok: true, added: ["alpha", "zeta"], removed: ["gone", "gone2"], restarted: ["change"], updated: [], unchanged: ["keep"], warnings: [] });

  const changed = await f.waitEntry("change", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== before.change);
  expect(changed.restart_count).toBe(1);
  await f.waitState("zeta", "RUNNING");
  await f.waitState("alpha", "RUNNING");
  await waitFor("gone and gone2 to leave status", () => f.status(), (l) => !l.some((e) => e.name.startsWith("gone")));
  expect(alive(before.gone!)).toBe(false);
  expect(alive(before.gone2!)).toBe(false);
  expect(alive(before.change!)).toBe(false);
  expect((await f.entry("keep")).pid).toBe(before.keep!);
  expect((await f.status()).map((e) => e.name)).toEqual(["zeta", "change", "keep", "alpha"]);
});

test("an unchanged reread keeps every pid and lists everything as unchanged", async () => {
  f = new SupFixture(`${HEAD}
[companions.b]
command = "forever"
[companions.a]
command = "tree"
`);
  await f.start();
  const before = await f.allRunning(["a", "b"]);
  const r = await f.ctl("reread");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("added: -\nremoved: -\nrestarted: -\nupdated: -\nunchanged: a, b\n");
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: [], restarted: [], updated: [], unchanged: ["a", "b"], warnings: [] });
  await Bun.sleep(300);
  expect(await f.pids()).toEqual(before);
});

test("a change of restart_delay alone is updated in place (contract rev 2: policy keys do not restart)", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
restart_delay = 1
`);
  await f.start();
  const { a } = await f.allRunning(["a"]);
  f.write(`${HEAD}
[companions.a]
command = "forever"
restart_delay = 2
`);
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: [], restarted: [], updated: ["a"], unchanged: [], warnings: [] });
  expect((await f.entry("a")).pid).toBe(a!);
});

test("a manually stopped companion that changed stays stopped, keeps the new config, is listed unchanged", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
`);
  await f.start();
  const before = await f.allRunning(["a", "b"]);
  await f.ctl("stop", "a");
  await f.waitState("a", "STOPPED");
  f.write(`${HEAD}
[companions.a]
command = "print-env SUP_T_X"
env = { SUP_T_X = "new" }
stdout = "a.log"
[companions.b]
command = "forever"
`);
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: [], restarted: [], updated: [], unchanged: ["a", "b"], warnings: [] });
  await Bun.sleep(300);
  expect(await f.entry("a")).toMatchObject({ state: "STOPPED", manual_stop: true, pid: null, command: "print-env SUP_T_X" });
  expect((await f.entry("b")).pid).toBe(before.b!);
  // the new config is what runs at the next start
  await f.ctl("start", "a");
  await f.waitState("a", "RUNNING");
  expect(await f.waitFile("a.log", "to be written", (t) => t.length > 0)).toBe("SUP_T_X=new\n");
});

test("a duplicate name (TOML table defined twice) is rejected: nothing changes", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
`);
  await f.start();
  const before = await f.allRunning(["a", "b"]);
  f.write(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
env = { CHANGED = "1" }
[companions.c]
command = "forever"
[companions.a]
command = "forever"
`);
  const r = await f.request({ cmd: "reread" });
  expect(r).toMatchObject({ ok: false, kept_old_config: true, code: "INVALID_CONFIG" });
  expect(r.error).toStartWith("invalid config: ");
  expect(r.message).toBe(r.error);
  await Bun.sleep(300);
  expect((await f.status()).map((e) => e.name)).toEqual(["a", "b"]);
  expect(await f.pids()).toEqual(before);
});

test("an invalid file changes nothing (ok:false, kept_old_config); a later valid one applies", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
[companions.c]
command = "forever"
`);
  await f.start();
  const before = await f.allRunning(["a", "b", "c"]);
  // valid changes mixed with problems: b changed, c removed, d added, but d has an unknown key
  f.write(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
env = { CHANGED = "1" }
[companions.d]
command = "forever"
stop_sigal = "SIGINT"
`);
  const r = await f.request({ cmd: "reread" });
  expect(r).toMatchObject({ ok: false, kept_old_config: true, code: "INVALID_CONFIG" });
  expect(r.error).toStartWith("invalid config: ");
  expect(r.error).toContain("companions.d.stop_sigal");
  const c = await f.ctl("reread");
  expect(c.code).toBe(2);
  expect(c.stderr).toContain("companions.d.stop_sigal");

  f.write(`[companions.a\ncommand = "forever"\n`); // not TOML at all
  const r2 = await f.request({ cmd: "reread" });
  expect(r2).toMatchObject({ ok: false, kept_old_config: true, code: "INVALID_CONFIG" });
  expect(r2.error).toStartWith("invalid config: ");

  await Bun.sleep(300);
  expect((await f.status()).map((e) => e.name)).toEqual(["a", "b", "c"]);
  expect(await f.pids()).toEqual(before);

  f.write(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
env = { CHANGED = "1" }
`);
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: ["c"], restarted: ["b"], updated: [], unchanged: ["a"], warnings: [] });
  await f.waitEntry("b", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== before.b);
  expect((await f.entry("a")).pid).toBe(before.a!);
});

test("a removed TERM-ignoring companion is still SIGKILLed at its stop_timeout", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.deaf]
command = "ignore-term"
stop_timeout = 1
stdout = "deaf.log"
`);
  await f.start();
  const before = await f.allRunning(["a", "deaf"]);
  await f.waitReady("deaf"); // it ignores TERM only once its trap is set
  f.write(`${HEAD}
[companions.a]
command = "forever"
`);
  const t0 = performance.now();
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: ["deaf"], restarted: [], updated: [], unchanged: ["a"], warnings: [] });
  // still supervised while it drains
  const draining = await f.status();
  expect(draining.find((e) => e.name === "deaf")?.state).toBe("STOPPING");
  await f.waitEntry("a", "deaf's process to be gone", () => !alive(before.deaf!), 10_000);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(800);
  await f.waitNoProcs((p) => p.pgid === before.deaf);
  await waitFor("deaf to leave status", () => f.status(), (l) => !l.some((e) => e.name === "deaf"));
  expect((await f.entry("a")).pid).toBe(before.a!);
});

test("a name removed and re-added while its old process drains never runs twice", async () => {
  f = new SupFixture(`${HEAD}
[companions.deaf]
command = "ignore-term"
stop_timeout = 1.5
stdout = "deaf.log"
`);
  await f.start();
  const { deaf: old } = await f.allRunning(["deaf"]);
  await f.waitReady("deaf"); // it ignores TERM only once its trap is set
  f.write(`${HEAD}\n[companions.other]\ncommand = "forever"\n`);
  expect((await f.request({ cmd: "reread" })).removed).toEqual(["deaf"]);
  f.write(`${HEAD}
[companions.deaf]
command = "ignore-term"
stop_timeout = 1.5
stdout = "deaf.log"
`);
  const r = await f.request({ cmd: "reread" });
  expect(r).toMatchObject({ ok: true, added: ["deaf"], removed: ["other"] });
  // group leaders only: a shell's forked child carries its command line until it execs
  const mains = () => f.census().filter((p) => p.cmd.includes("ignore-term") && p.pgid === p.pid);
  let most = 0;
  const next = await f.waitEntry("deaf", "to run again with a new pid", (e) => {
    most = Math.max(most, mains().length);
    return e.state === "RUNNING" && e.pid !== null && e.pid !== old;
  });
  expect(most).toBe(1);
  expect(alive(old!)).toBe(false);
  expect(alive(next.pid!)).toBe(true);
});

test("reread --dry-run says what a reread would do and changes nothing", async () => {
  f = new SupFixture(`
[companions.a]
command = "forever"
startsecs = 0
[companions.b]
command = "forever"
startsecs = 0
`);
  await f.start();
  const before = await f.allRunning(["a", "b"]);
  f.write(`
[companions.a]
command = "forever"
startsecs = 0
[companions.c]
command = "forever"
startsecs = 0
`);
  expect(await f.request({ cmd: "reread", dry_run: true })).toEqual({ ok: true, dry_run: true, added: ["c"], removed: ["b"], restarted: [], updated: [], unchanged: ["a"], warnings: [] });
  const r = await f.ctl("reread", "--dry-run");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("dry run: nothing changed");
  expect(r.stdout).toContain("added: c");
  expect(await f.pids()).toEqual(before);
  expect((await f.status()).map((e) => e.name)).toEqual(["a", "b"]);
});

test("a policy-only change is updated in place (same pid); a shaping change restarts; autostart = false stays STOPPED", async () => {
  f = new SupFixture(`
[companions.a]
command = "forever"
startsecs = 0
[companions.b]
command = "forever"
startsecs = 0
`);
  await f.start();
  const before = await f.allRunning(["a", "b"]);
  f.write(`
[companions.a]
command = "forever"
startsecs = 0
restart_delay = 7
stop_timeout = 3
[companions.b]
command = ["forever", "--changed"]
startsecs = 0
[companions.later]
command = "forever"
autostart = false
`);
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: ["later"], removed: [], restarted: ["b"], updated: ["a"], unchanged: [], warnings: [] });
  const b = await f.waitEntry("b", "to run again with a new pid", (e) => e.state === "RUNNING" && e.pid !== before.b);
  expect(b.restart_count).toBe(1);
  expect((await f.entry("a")).pid).toBe(before.a!);
  const later = await f.entry("later");
  expect(later).toMatchObject({ state: "STOPPED", pid: null, description: "stopped, not started" });
  // the updated policy is in force: a's next retry waits the new restart_delay
  process.kill(before.a!, "SIGKILL");
  const back = await f.waitEntry("a", "to be back", (e) => e.pid !== null && e.pid !== before.a);
  expect(back.restart_count).toBe(1);
});

test("a reread that changes only log sinks applies them to the running process (same pid)", async () => {
  const conf = (extra: string) => `
[companions.talk]
command = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo \\"tick $i\\"; sleep 0.05; done"]
startsecs = 0
log_file = "talk.log"
log_console = false
${extra}
`;
  f = new SupFixture(conf(""));
  await f.start();
  const before = await f.waitState("talk", "RUNNING");
  await f.waitFile("talk.log", "plain lines", (t) => /^tick \d+$/m.test(t));
  f.write(conf("log_timestamps = true"));
  expect(await f.request({ cmd: "reread" })).toMatchObject({ ok: true, updated: ["talk"], restarted: [] });
  await f.waitFile("talk.log", "timestamped lines", (t) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z tick \d+$/m.test(t));
  expect((await f.entry("talk")).pid).toBe(before.pid);
});
