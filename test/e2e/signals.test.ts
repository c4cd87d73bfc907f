// Signals to the arbiter (`sup run`): HUP reloads as a per-companion diff, TERM and INT stop
// gracefully with overlapping drains, QUIT kills at once; every companion is gone afterwards.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { alive } from "../helpers/census.ts";
import { SupFixture } from "../helpers/sup.ts";

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
`;

/** the manager logs one "reread:" line per reload, applied or refused */
const countRereads = () => (f.output.match(/reread: (added|config invalid)/g) ?? []).length;

test("SIGHUP with an unchanged file keeps every pid", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "tree"
[companions.c]
command = ["slow-stop", "1"]
`);
  await f.start();
  const before = await f.allRunning(["a", "b", "c"]);
  f.signal("SIGHUP");
  await f.waitOutput(/reread: added \[\] removed \[\] restarted \[\]/);
  await Bun.sleep(300);
  expect(await f.pids()).toEqual(before);
  for (const pid of Object.values(before)) expect(alive(pid)).toBe(true);
  expect(f.exitCode).toBeNull();
});

test("SIGHUP with one companion changed restarts only that one", async () => {
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
  f.write(`${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "forever"
env = { CHANGED = "1" }
[companions.c]
command = "forever"
`);
  f.signal("SIGHUP");
  const b = await f.waitEntry("b", "to run with a new pid", (e) => e.state === "RUNNING" && e.pid !== before.b);
  expect(b.restart_count).toBe(1);
  expect(alive(before.b!)).toBe(false);
  const after = await f.pids();
  expect(after.a).toBe(before.a!);
  expect(after.c).toBe(before.c!);
  // the new setting is in force: a reread now sees nothing to do
  expect(await f.request({ cmd: "reread" })).toEqual({ ok: true, added: [], removed: [], restarted: [], updated: [], unchanged: ["a", "b", "c"], warnings: [] });
});

test("SIGHUP with a broken file changes nothing; sup keeps serving", async () => {
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
stop_signal = "SIGTRM"
[companions.c]
command = "forever"
`);
  f.signal("SIGHUP");
  await f.waitOutput(/config invalid, nothing changed/);
  expect(f.output).toContain(`companions.a.stop_signal: unknown signal "SIGTRM"`);
  await Bun.sleep(300);
  expect((await f.status()).map((e) => e.name)).toEqual(["a", "b"]);
  expect(await f.pids()).toEqual(before);
  expect(f.exitCode).toBeNull();
  expect(countRereads()).toBe(1);
});

async function gracefulStopOf20(sig: "SIGTERM" | "SIGINT"): Promise<void> {
  let toml = `
[defaults]
startsecs = 0
`;
  for (let i = 0; i < 20; i++) toml += `[companions.s${i}]\ncommand = "slow-stop 1"\nstdout = "s${i}.log"\n`;
  f = new SupFixture(toml);
  await f.start();
  const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
  const pids = await f.allRunning(names);
  // each has set its TERM trap before the signal comes
  for (const n of names) await f.waitFile(`${n}.log`, "to say ready", (t) => t.includes("ready"));
  const t0 = performance.now();
  f.signal(sig);
  const code = await f.waitExit(30_000);
  const took = performance.now() - t0;
  console.log(`${sig} stop of 20 companions that take 1 s each: ${(took / 1000).toFixed(2)} s`);
  expect(code).toBe(0);
  expect(took).toBeLessThan(8_000);
  expect(took).toBeGreaterThanOrEqual(900); // they were asked, not killed
  for (const pid of Object.values(pids)) expect(alive(pid)).toBe(false);
  await f.waitNoProcs();
}

test("SIGTERM: 20 companions that each take 1 s to stop drain together, exit 0", async () => {
  await gracefulStopOf20("SIGTERM");
});

test("SIGINT: same graceful stop, exit 0", async () => {
  await gracefulStopOf20("SIGINT");
});

test("SIGTERM exits 0 also when a companion had to be SIGKILLed", async () => {
  f = new SupFixture(`${HEAD}
[companions.deaf]
command = "ignore-term"
stop_timeout = 1
stdout = "deaf.log"
[companions.a]
command = "forever"
`);
  await f.start();
  const pids = await f.allRunning(["deaf", "a"]);
  await f.waitReady("deaf"); // it ignores TERM only once its trap is set
  const t0 = performance.now();
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(800);
  expect(alive(pids.deaf!)).toBe(false);
  await f.waitNoProcs();
});

test("SIGQUIT kills every companion at once, exit 0", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 60
[companions.deaf]
command = "ignore-term"
stdout = "deaf.log"
[companions.slow]
command = "slow-stop 60"
stdout = "slow.log"
[companions.tree]
command = "tree"
`);
  await f.start();
  const pids = await f.allRunning(["deaf", "slow", "tree"]);
  // their traps are set: a plain SIGTERM would not end them before the 60 s stop_timeout
  await f.waitReady("deaf");
  await f.waitReady("slow");
  await f.waitEntry("tree", "to have its grandchildren", () => f.census().filter((p) => p.pgid === pids.tree).length === 3);
  const t0 = performance.now();
  f.signal("SIGQUIT");
  expect(await f.waitExit()).toBe(0);
  const took = performance.now() - t0;
  console.log(`SIGQUIT stop: ${(took / 1000).toFixed(2)} s`);
  expect(took).toBeLessThan(10_000); // far below the 60 s stop_timeout
  await f.waitNoProcs();
});

test("SIGQUIT during a graceful stop turns it into a fast one, exit 0", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 60
[companions.deaf]
command = "ignore-term"
stdout = "deaf.log"
[companions.a]
command = "forever"
`);
  await f.start();
  const pids = await f.allRunning(["deaf", "a"]);
  await f.waitReady("deaf"); // it ignores TERM only once its trap is set
  const t0 = performance.now();
  f.signal("SIGTERM");
  await f.waitEntry("deaf", "to be stopping", (e) => e.state === "STOPPING");
  await waitForGone(pids.a!);
  f.signal("SIGQUIT");
  expect(await f.waitExit()).toBe(0);
  expect(performance.now() - t0).toBeLessThan(20_000); // far below the 60 s stop_timeout
  await f.waitNoProcs();
});

async function waitForGone(pid: number): Promise<void> {
  await f.waitEntry("a", `pid ${pid} to be gone`, () => !alive(pid));
}
