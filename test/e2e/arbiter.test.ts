// The arbiter and the manager: a dead manager's companions never survive into the next one; a
// dead arbiter takes everything down; the graceful stop budget; SIGUSR1; moving the socket.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { lstatSync } from "node:fs";
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
`;

test("a manager killed unexpectedly: its companions are stopped, a new manager starts them once", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.t]
command = "tree"
`);
  await f.start();
  const a = await f.waitState("a", "RUNNING");
  const t = await f.waitState("t", "RUNNING");
  await f.waitEntry("t", "to have its grandchildren", () => f.census().filter((p) => p.pgid === t.pid).length === 3);
  const manager = f.managerPid()!;
  expect(manager).toBeNumber();
  process.kill(manager, "SIGKILL");
  // the new manager serves again and starts fresh processes; the old ones are gone
  const a2 = await f.waitEntry("a", "to run under a new manager", (e) => e.state === "RUNNING" && e.pid !== a.pid, 20_000);
  const t2 = await f.waitEntry("t", "to run under a new manager", (e) => e.state === "RUNNING" && e.pid !== t.pid, 20_000);
  expect(f.managerPid()).not.toBe(manager);
  expect(alive(a.pid!)).toBe(false);
  await f.waitNoProcs((p) => p.pgid === t.pid);
  // exactly one of each
  await f.waitEntry("t", "to have its new grandchildren", () => f.census().filter((p) => p.pgid === t2.pid).length === 3);
  expect(f.census().filter((p) => p.cmd === "sleep 1000000" && p.pgid === p.pid)).toEqual([expect.objectContaining({ pid: a2.pid })]);
  expect(f.census().filter((p) => p.cmd.includes("__manager"))).toHaveLength(1);
  expect(f.exitCode).toBeNull();
});

test("an arbiter killed by SIGKILL: the manager stops every companion and exits", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.s]
command = "slow-stop 0.5"
stdout = "s.log"
[companions.t]
command = "tree"
`);
  await f.start();
  for (const n of ["a", "s", "t"]) await f.waitState(n, "RUNNING");
  await f.waitReady("s"); // its TERM trap is set: the manager's stop finds it draining, not dying
  expect(f.census().length).toBeGreaterThanOrEqual(5);
  f.signal("SIGKILL");
  await f.waitExit();
  await waitFor("every companion and the manager to be gone", () => f.census(), (l) => l.length === 0, 15_000);
});

test("graceful_timeout caps the arbiter's stop: what is left is SIGKILLed, exit 0", async () => {
  f = new SupFixture(`
[sup]
graceful_timeout = 1
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
  const deaf = await f.waitState("deaf", "RUNNING");
  await f.waitState("a", "RUNNING");
  await f.waitReady("deaf"); // it ignores TERM only once its trap is set
  const t0 = performance.now();
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  const took = performance.now() - t0;
  console.log(`graceful_timeout = 1 with a 60 s stop_timeout: stopped in ${(took / 1000).toFixed(2)} s`);
  expect(took).toBeGreaterThanOrEqual(800);
  expect(took).toBeLessThan(20_000);
  await waitFor("the deaf companion to be gone", () => alive(deaf.pid!), (v) => !v);
  await waitFor("nothing left", () => f.census(), (l) => l.length === 0);
});

test("SIGTERM while a companion waits in BACKOFF stops at once, exit 0", async () => {
  f = new SupFixture(`${HEAD}
[companions.crash]
command = "exit-with 1"
restart_delay = 60
[companions.a]
command = "forever"
`);
  await f.start();
  await f.waitState("crash", "BACKOFF");
  await f.waitState("a", "RUNNING");
  const t0 = performance.now();
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  expect(performance.now() - t0).toBeLessThan(10_000);
  await f.waitNoProcs();
});

test("SIGUSR1 to the arbiter changes nothing that runs", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
stdout = "a.log"
`);
  await f.start();
  const a = await f.waitState("a", "RUNNING");
  f.signal("SIGUSR1");
  await f.waitOutput(/SIGUSR1/);
  await Bun.sleep(300);
  expect(f.exitCode).toBeNull();
  expect(await f.entry("a")).toMatchObject({ state: "RUNNING", pid: a.pid });
});

test("SIGHUP with a new [sup] socket path: sup serves on the new path", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
`);
  await f.start();
  await f.waitState("a", "RUNNING");
  f.write(`
[sup]
socket = "moved.sock"
${HEAD}
[companions.a]
command = "forever"
`);
  f.signal("SIGHUP");
  const moved = f.path("moved.sock");
  const isSock = (p: string) => {
    try {
      return lstatSync(p).isSocket();
    } catch {
      return false;
    }
  };
  await waitFor("the new socket to exist", () => isSock(moved), (v) => v);
  const r = await waitFor("ctl status on the new socket", () => f.sup(["ctl", "-s", moved, "status"]), (x) => x.code === 0);
  expect(r.stdout).toContain("RUNNING");
  expect((await f.sup(["ctl", "-c", f.config, "status"])).code).toBe(0);
  expect(lstatSync(moved).mode & 0o777).toBe(0o600);
});

test("after a manager crash a TERM-ignoring companion is killed before the new manager starts it again", async () => {
  f = new SupFixture(`${HEAD}
[companions.deaf]
command = "ignore-term"
stop_timeout = 1.5
reload_timeout = 1.5
stdout = "deaf.log"
`);
  await f.start();
  const old = await f.waitState("deaf", "RUNNING");
  await f.waitReady("deaf", { pid: old.pid! }); // it ignores TERM only once its trap is set
  const manager = f.managerPid()!;
  process.kill(manager, "SIGKILL");
  // group leaders only: a shell's forked child carries its command line until it execs
  const leaders = () => f.census().filter((p) => p.cmd.includes("ignore-term") && p.pgid === p.pid);
  let most = 0;
  const next = await waitFor(
    "deaf to run again under a new manager",
    async () => {
      most = Math.max(most, leaders().length);
      return await f.entry("deaf");
    },
    (e) => e.state === "RUNNING" && e.pid !== old.pid,
    30_000,
  );
  most = Math.max(most, leaders().length);
  expect(most).toBe(1);
  expect(alive(old.pid!)).toBe(false);
  expect(alive(next.pid!)).toBe(true);
});

test("a manager that dies while the config file is broken: sup keeps retrying, and recovers once the file is fixed", async () => {
  const good = `${HEAD}
[companions.a]
command = "forever"
`;
  f = new SupFixture(good);
  await f.start({ env: { SUP_RESPAWN_MIN_MS: "100", SUP_RESPAWN_MAX_MS: "200" } });
  const a = await f.waitState("a", "RUNNING");
  const manager = f.managerPid()!;
  f.write(`${HEAD}\n[companions.a]\ncommand = "forever"\nstop_sigal = "TERM"\n`);
  process.kill(manager, "SIGKILL");
  // the respawned manager refuses the broken file and exits; the arbiter must not give up
  await waitFor("two respawned managers to report the broken file", () => f.output, (o) => (o.match(/stop_sigal/g) ?? []).length >= 2);
  expect(f.exitCode).toBeNull();
  expect(alive(a.pid!)).toBe(false);
  f.write(good);
  const a2 = await f.waitEntry("a", "to run again under a new manager", (e) => e.state === "RUNNING" && e.pid !== a.pid, 20_000);
  expect(a2.pid).toBeNumber();
});
