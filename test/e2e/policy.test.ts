// fail_fast and essential: a companion that ends for good stops sup, which exits with that
// companion's code; a manual stop never triggers it.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
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
`;

test("fail_fast: a companion that exits 3 (restart = never) stops the rest; sup exits 3", async () => {
  f = new SupFixture(`
[sup]
fail_fast = true
${HEAD}
[companions.a]
command = "forever"
[companions.b]
command = "slow-stop 0.5"
stdout = "b.log"
[companions.c]
command = "exit-when go 3"
restart = "never"
`);
  await f.start();
  const a = await f.waitState("a", "RUNNING");
  const b = await f.waitState("b", "RUNNING");
  await f.waitState("c", "RUNNING");
  await f.waitReady("b"); // its TERM trap is set before the fail-fast stop can reach it
  writeFileSync(f.path("go"), "");
  expect(await f.waitExit()).toBe(3);
  expect(alive(a.pid!)).toBe(false);
  expect(alive(b.pid!)).toBe(false);
  await f.waitNoProcs();
});

test("fail_fast: a companion killed by a signal makes sup exit 128 + n", async () => {
  f = new SupFixture(`
[sup]
fail_fast = true
${HEAD}
[companions.a]
command = "forever"
[companions.k]
command = "kill-self USR1 0.3"
restart = "never"
`);
  await f.start();
  expect(await f.waitExit()).toBe(128 + 10); // SIGUSR1 is 10 on Linux x86 and arm
  await f.waitNoProcs();
});

test("fail_fast: a companion that cannot be spawned (FATAL) makes sup exit 1", async () => {
  f = new SupFixture(`
[sup]
fail_fast = true
${HEAD}
[companions.a]
command = "forever"
[companions.missing]
command = ["sup-test-no-such-command"]
`);
  await f.start({ waitReady: false });
  expect(await f.waitExit()).toBe(1);
  await f.waitNoProcs();
});

test("fail_fast: a companion that will be restarted by policy does not stop sup", async () => {
  f = new SupFixture(`
[sup]
fail_fast = true
${HEAD}
[companions.a]
command = "forever"
[companions.flaky]
command = "exit-with 7"
restart = "on-failure"
restart_delay = 0.1
`);
  await f.start();
  const a = await f.waitState("a", "RUNNING");
  await f.waitEntry("flaky", "to be retried twice", (e) => e.restart_count >= 2);
  expect(f.exitCode).toBeNull();
  expect((await f.entry("a")).pid).toBe(a.pid);
});

test("essential on one companion only: the others may end, the essential one stops sup with its code", async () => {
  f = new SupFixture(`${HEAD}
[companions.other]
command = "exit-with 5"
restart = "never"
[companions.key]
command = "exit-when go 4"
restart = "never"
essential = true
[companions.bystander]
command = "forever"
`);
  await f.start();
  await f.waitState("key", "RUNNING");
  const by = await f.waitState("bystander", "RUNNING");
  expect((await f.waitState("other", "EXITED")).last_exit_code).toBe(5);
  // a non-essential companion ending changes nothing
  await Bun.sleep(300);
  expect(f.exitCode).toBeNull();
  expect((await f.entry("bystander")).pid).toBe(by.pid);
  writeFileSync(f.path("go"), "");
  expect(await f.waitExit()).toBe(4);
  await f.waitNoProcs();
});

test("a FATAL essential companion makes sup exit 1", async () => {
  f = new SupFixture(`${HEAD}
[companions.a]
command = "forever"
[companions.key]
command = "sup-test-no-such-command --flag"
essential = true
`);
  await f.start({ waitReady: false });
  expect(await f.waitExit()).toBe(1);
  await f.waitNoProcs();
});

test("a manually stopped essential companion does not stop sup (nor does fail_fast)", async () => {
  f = new SupFixture(`
[sup]
fail_fast = true
${HEAD}
[companions.key]
command = "forever"
essential = true
[companions.b]
command = "forever"
`);
  await f.start();
  await f.waitState("key", "RUNNING");
  const b = await f.waitState("b", "RUNNING");
  const r = await f.ctl("stop", "key");
  expect(r.code).toBe(0);
  await f.waitState("key", "STOPPED");
  const r2 = await f.ctl("stop", "b");
  expect(r2.code).toBe(0);
  await f.waitState("b", "STOPPED");
  await Bun.sleep(500);
  expect(f.exitCode).toBeNull();
  expect((await f.request({ cmd: "version" })).ok).toBe(true);
  expect(alive(b.pid!)).toBe(false);
  // and it can be started again
  await f.ctl("start", "key");
  await f.waitState("key", "RUNNING");
});

test("fail_fast: companions that exit non-zero while an operator's SIGTERM stops them do not change the exit code (0)", async () => {
  f = new SupFixture(`
[sup]
fail_fast = true
${HEAD}
[companions.five]
command = "trap 'exit 5' TERM; echo ready; while :; do sleep 0.1; done"
stdout = "five.log"
restart = "never"
[companions.a]
command = "forever"
`);
  await f.start();
  await f.waitState("five", "RUNNING");
  await f.waitState("a", "RUNNING");
  await f.waitFile("five.log", "to say ready", (t) => t.includes("ready"));
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  await f.waitNoProcs();
});
