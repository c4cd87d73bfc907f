// Stopping and signalling companions: SIGKILL at stop_timeout, custom stop signals, whole
// process groups, `signal` to the main process or the group.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { alive } from "../helpers/census.ts";
import { errReply, okReply, SupFixture } from "../helpers/sup.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const lines = (t: string) => t.split("\n").filter(Boolean);

test("a child that ignores SIGTERM is SIGKILLed at stop_timeout: STOPPING, then STOPPED", async () => {
  f = new SupFixture(`
[companions.stubborn]
command = "ignore-term"
startsecs = 0
stop_timeout = 1.5
stdout = "stubborn.log"
`);
  await f.start();
  const up = await f.waitState("stubborn", "RUNNING");
  await f.waitFile("stubborn.log", "to say ready", (t) => t.includes("ready"));
  const t0 = performance.now();
  expect(await f.request({ cmd: "stop", name: "stubborn" })).toEqual(okReply("stubborn stopping"));
  const stopping = await f.entry("stubborn");
  expect(stopping).toMatchObject({ state: "STOPPING", pid: up.pid, manual_stop: true });
  const stopped = await f.waitState("stubborn", "STOPPED");
  const took = performance.now() - t0;
  expect(took).toBeGreaterThanOrEqual(1300); // it survived SIGTERM until the timeout
  expect(stopped).toMatchObject({ pid: null, last_exit_signal: "SIGKILL", last_exit_code: null, description: "stopped, stopped manually" });
  expect(alive(up.pid!)).toBe(false);
  await f.waitNoProcs((p) => p.pgid === up.pid);
});

test("the configured stop_signal is the one delivered: name, short name, number", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 1
[companions.int]
command = "record-signals int.sig"
stop_signal = "SIGINT"
[companions.usr1]
command = "record-signals usr1.sig"
stop_signal = "USR1"
[companions.num]
command = "record-signals num.sig"
stop_signal = 1
[companions.term]
command = "record-signals term.sig"
`);
  await f.start();
  for (const n of ["int", "usr1", "num", "term"]) await f.waitFile(`${n}.sig`, "to say ready", (t) => t.includes("ready"));
  const r = await f.ctl("stop", "all");
  expect(r.code).toBe(0);
  for (const n of ["int", "usr1", "num", "term"]) await f.waitState(n, "STOPPED");
  expect(lines(f.read("int.sig"))).toEqual(["ready", "INT"]);
  expect(lines(f.read("usr1.sig"))).toEqual(["ready", "USR1"]);
  expect(lines(f.read("num.sig"))).toEqual(["ready", "HUP"]);
  expect(lines(f.read("term.sig"))).toEqual(["ready", "TERM"]);
  // record-signals exits on TERM only: the others needed the SIGKILL
  expect((await f.entry("term")).last_exit_code).toBe(0);
  for (const n of ["int", "usr1", "num"]) expect((await f.entry(n)).last_exit_signal).toBe("SIGKILL");
});

test("sh -c commands with grandchildren leave nothing behind after stop and restart", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 5
reload_timeout = 5
[companions.sh]
command = "sleep 1000001 & sleep 1000002 & echo started; wait"
[companions.deaf]
command = "trap '' TERM; sleep 1000003 & sleep 1000004 & wait"
stop_timeout = 1
`);
  await f.start();
  const group = (pgid: number) => f.census().filter((p) => p.pgid === pgid);
  const sh = await f.waitState("sh", "RUNNING");
  await f.waitEntry("sh", "to have its 2 grandchildren", () => group(sh.pid!).length === 3);
  const deaf = await f.waitState("deaf", "RUNNING");
  await f.waitEntry("deaf", "to have its 2 grandchildren", () => group(deaf.pid!).length === 3);

  // restart: the old group is gone entirely, the new one is complete
  expect(await f.request({ cmd: "restart", name: "sh" })).toEqual(okReply("sh restarting"));
  const sh2 = await f.waitEntry("sh", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== sh.pid);
  await f.waitEntry("sh", "to have its new grandchildren", () => group(sh2.pid!).length === 3);
  await f.waitNoProcs((p) => p.pgid === sh.pid!);

  expect(await f.request({ cmd: "stop", name: "sh" })).toEqual(okReply("sh stopping"));
  expect(await f.request({ cmd: "stop", name: "deaf" })).toEqual(okReply("deaf stopping"));
  await f.waitState("sh", "STOPPED");
  await f.waitState("deaf", "STOPPED");
  await f.waitNoProcs((p) => p.pgid === sh2.pid!);
  await f.waitNoProcs((p) => p.pgid === deaf.pid!);
  await f.waitNoProcs((p) => /sleep 100000\d/.test(p.cmd));
});

test("`sup ctl signal HUP NAME` reaches the main process only; group = true reaches the whole group", async () => {
  f = new SupFixture(`
[companions.rec]
command = "record-tree sigs"
startsecs = 0
stop_timeout = 5
`);
  f.mkdir("sigs");
  await f.start();
  const up = await f.waitState("rec", "RUNNING");
  await f.waitFile("sigs/main", "to say ready", (t) => t.includes("ready"));
  await f.waitFile("sigs/child", "to say ready", (t) => t.includes("ready"));

  const r = await f.ctl("signal", "HUP", "rec");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("rec");
  await f.waitFile("sigs/main", "to record HUP", (t) => lines(t).includes("HUP"));
  // the child in the same group did not get it (hold the condition for a moment)
  await Bun.sleep(300);
  expect(lines(f.read("sigs/child"))).toEqual(["ready"]);

  const g = await f.request({ cmd: "signal", name: "rec", signal: "SIGUSR1", group: true });
  expect(g.ok).toBe(true);
  expect(g.message).toBeString();
  await f.waitFile("sigs/main", "to record USR1", (t) => lines(t).includes("USR1"));
  await f.waitFile("sigs/child", "to record USR1", (t) => lines(t).includes("USR1"));
  expect(lines(f.read("sigs/child"))).toEqual(["ready", "USR1"]);

  // a number and a short name work too, to the main process
  expect((await f.request({ cmd: "signal", name: "rec", signal: 12 })).ok).toBe(true);
  expect((await f.request({ cmd: "signal", name: "rec", signal: "winch" })).ok).toBe(true);
  await f.waitFile("sigs/main", "to record USR2 and WINCH", (t) => lines(t).includes("USR2") && lines(t).includes("WINCH"));
  // none of that stopped it
  expect(await f.entry("rec")).toMatchObject({ state: "RUNNING", pid: up.pid });
});

test("signal to a companion with no process is NOT_RUNNING; a bad signal is BAD_SIGNAL", async () => {
  f = new SupFixture(`
[companions.a]
command = "forever"
startsecs = 0
`);
  await f.start();
  await f.waitState("a", "RUNNING");
  const bad = await f.request({ cmd: "signal", name: "a", signal: "SIGNOPE" });
  expect(bad).toMatchObject({ ok: false, code: "BAD_SIGNAL" });
  expect(bad.message).toBe(bad.error);
  expect((await f.entry("a")).state).toBe("RUNNING");
  await f.ctl("stop", "a");
  await f.waitState("a", "STOPPED");
  const nr = await f.request({ cmd: "signal", name: "a", signal: "SIGHUP" });
  expect(nr).toMatchObject({ ok: false, code: "NOT_RUNNING" });
  expect(nr.message).toBe(nr.error);
  expect(nr.message).toContain("a");
  expect(await f.request({ cmd: "signal", name: "zz", signal: "SIGHUP" })).toEqual(errReply("unknown companion zz", "BAD_NAME"));
  const c = await f.ctl("signal", "HUP", "a");
  expect(c.code).toBe(1);
});

test("a restart (command or reread change) waits reload_timeout, not stop_timeout, before SIGKILL", async () => {
  const conf = (v: string) => `
[defaults]
startsecs = 0
stop_timeout = 60
reload_timeout = 1
[companions.cmd]
command = "ignore-term"
stdout = "cmd.log"
[companions.cfg]
command = "ignore-term"
stdout = "cfg.log"
env = { V = "${v}" }
`;
  f = new SupFixture(conf("1"));
  await f.start();
  const a = await f.waitState("cmd", "RUNNING");
  const b = await f.waitState("cfg", "RUNNING");
  // the fixture ignores TERM only once its trap is set: wait for it to say so
  await f.waitFile("cmd.log", "to say ready", (t) => t.includes("ready"));
  await f.waitFile("cfg.log", "to say ready", (t) => t.includes("ready"));
  const t0 = performance.now();
  expect(await f.request({ cmd: "restart", name: "cmd" })).toEqual(okReply("cmd restarting"));
  f.write(conf("2"));
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: [], restarted: ["cfg"], updated: [], unchanged: ["cmd"], warnings: [] });
  const a2 = await f.waitEntry("cmd", "to run again", (e) => e.state === "RUNNING" && e.pid !== a.pid, 20_000);
  const b2 = await f.waitEntry("cfg", "to run again", (e) => e.state === "RUNNING" && e.pid !== b.pid, 20_000);
  const took = performance.now() - t0;
  expect(took).toBeGreaterThanOrEqual(800);
  expect(took).toBeLessThan(20_000); // far below the 60 s stop_timeout
  expect(a2).toMatchObject({ last_exit_signal: "SIGKILL", restart_count: 1 });
  expect(b2).toMatchObject({ last_exit_signal: "SIGKILL", restart_count: 1 });
  // end without the 60 s stop_timeout: stop, then kill. The new processes must have set their
  // trap first, or the stop's SIGTERM ends them and the SIGKILL finds nothing to signal
  await f.waitReady("cmd", { pid: a2.pid! });
  await f.waitReady("cfg", { pid: b2.pid! });
  for (const n of ["cmd", "cfg"]) {
    expect(await f.request({ cmd: "stop", name: n })).toEqual(okReply(`${n} stopping`));
    expect((await f.request({ cmd: "signal", name: n, signal: "SIGKILL", group: true })).ok).toBe(true);
    await f.waitState(n, "STOPPED");
  }
});
