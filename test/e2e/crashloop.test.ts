// Crash-loop policy (contract §3, §4) through the real binary: the end of a stable run is
// retried at once, whatever restart_delay says; a crash loop gives up after max_restarts; a
// code in success_exit_codes is a clean end for fail-fast.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { alive } from "../helpers/census.ts";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

test("kill -9 of a companion past its stable window: back with a new pid at once, not after restart_delay", async () => {
  f = new SupFixture(`
[companions.worker]
command = "forever"
startsecs = 0.2
restart_delay = 30
`);
  await f.start();
  // RUNNING at 0.2 s, stable 1 s later (the window is at least 1 s)
  const old = await f.waitEntry("worker", "to be past its stable window", (e) => e.state === "RUNNING" && (e.uptime as number) >= 1.5);
  const killedAt = performance.now();
  process.kill(old.pid!, "SIGKILL");
  // well under restart_delay (30 s): a delay would show as BACKOFF with 30 s to go
  const back = await f.waitEntry("worker", "to be back with a new pid", (e) => e.pid !== null && e.pid !== old.pid, 10_000);
  const latencyMs = performance.now() - killedAt;
  expect(back).toMatchObject({ restart_count: 1, exit_count: 1, last_exit_signal: "SIGKILL" });
  expect(alive(back.pid!)).toBe(true);
  expect(latencyMs).toBeLessThan(10_000);
  await f.waitOutput(/worker RUNNING -> BACKOFF \(killed by SIGKILL, pid \d+\)/);

  // its next run ends before it is stable: that one waits restart_delay
  process.kill(back.pid!, "SIGKILL");
  const paced = await f.waitEntry("worker", "to back off", (e) => e.state === "BACKOFF");
  expect(paced).toMatchObject({ restart_delay: 30, pid: null, exit_count: 2 });
  expect(paced.description).toMatch(/^backoff, killed by SIGKILL, retrying in (29|30)s$/);
});

test("a crash loop with max_restarts = 3 ends FATAL: gave up after 3 failed runs", async () => {
  f = new SupFixture(`
[companions.crash]
command = "exit-with 1"
restart_delay = 0.1
max_restarts = 3
`);
  await f.start();
  const e = await f.waitState("crash", "FATAL");
  expect(e).toMatchObject({ description: "fatal, gave up after 3 failed runs", exit_count: 3, restart_count: 2, last_exit_code: 1, pid: null, next_retry_at: null });
  await f.waitOutput(/crash STARTING -> FATAL \(exited with status 1, pid \d+; gave up after 3 failed runs\)/);
  // the operator's start gives it three more tries
  expect(await f.request({ cmd: "start", name: "crash" })).toMatchObject({ ok: true, message: "crash started" });
  const again = await f.waitEntry("crash", "to give up again", (x) => x.state === "FATAL" && x.exit_count === 6);
  expect(again.description).toBe("fatal, gave up after 3 failed runs");
});

test("an essential companion ending with a code in success_exit_codes stops sup with exit code 0", async () => {
  f = new SupFixture(`
[companions.other]
command = "forever"
startsecs = 0
[companions.job]
command = "exit-with 3"
restart = "on-failure"
success_exit_codes = [0, 3]
essential = true
`);
  await f.start({ waitReady: false });
  expect(await f.waitExit()).toBe(0);
  await f.waitOutput(/job ended \(EXITED, exited with status 3\) and is essential: stopping everything, exit code 0/);
  await f.waitNoProcs();
});
