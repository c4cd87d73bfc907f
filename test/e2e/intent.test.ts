// What the operator decided survives a manager respawn (contract §1 rev 2): a manually stopped
// companion stays stopped, and every companion's counters go on, after the manager is SIGKILLed.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

test("manual stop and counters survive a manager SIGKILL", async () => {
  f = new SupFixture(`
[companions.kept]
command = "forever"
startsecs = 0
[companions.off]
command = "forever"
startsecs = 0
`);
  await f.start({ env: { SUP_RESPAWN_MIN_MS: "100", SUP_RESPAWN_MAX_MS: "200" } });
  const first = await f.allRunning(["kept", "off"]);
  // two restarts of `kept`, and `off` stopped by the operator
  for (let i = 1; i <= 2; i++) {
    const before = (await f.entry("kept")).pid!;
    expect((await f.request({ cmd: "restart", name: "kept", wait: true })).ok).toBe(true);
    expect((await f.entry("kept")).pid).not.toBe(before);
  }
  expect((await f.request({ cmd: "stop", name: "off", wait: true })).ok).toBe(true);
  const manager = f.managerPid()!;
  expect(first.off).toBeGreaterThan(0);
  process.kill(manager, "SIGKILL");
  await f.waitOutput(/took over from the previous manager/, 20_000);
  const kept = await f.waitEntry("kept", "to run under the new manager", (e) => e.state === "RUNNING" && f.managerPid() !== manager, 20_000);
  expect(kept.restart_count).toBe(2);
  expect(kept.exit_count).toBeGreaterThanOrEqual(2);
  const off = await f.entry("off");
  expect(off).toMatchObject({ state: "STOPPED", manual_stop: true, pid: null });
  expect(off.description).toBe("stopped, stopped manually");
  // and it starts when asked
  expect((await f.request({ cmd: "start", name: "off", wait: true })).ok).toBe(true);
});

test("with [sup] state_file, manual stops and counters survive a restart of sup; a corrupt file is ignored", async () => {
  const conf = `
[sup]
state_file = "sup.state"
[companions.kept]
command = "forever"
startsecs = 0
[companions.off]
command = "forever"
startsecs = 0
`;
  f = new SupFixture(conf);
  await f.start();
  await f.allRunning(["kept", "off"]);
  expect((await f.request({ cmd: "restart", name: "kept", wait: true })).ok).toBe(true);
  expect((await f.request({ cmd: "stop", name: "off", wait: true })).ok).toBe(true);
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  const saved = JSON.parse(f.read("sup.state"));
  expect(saved.version).toBe(1);
  expect(saved.companions.find((c: { name: string }) => c.name === "off").manualStop).toBe(true);

  // the same folder, a new sup: off stays stopped, kept's counter goes on
  await f.start();
  const kept = await f.waitState("kept", "RUNNING");
  expect(kept.restart_count).toBe(1);
  expect(await f.entry("off")).toMatchObject({ state: "STOPPED", manual_stop: true });
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);

  // a corrupt file: said in the log, ignored, everything starts
  f.write("{not json", "sup.state");
  await f.start();
  await f.allRunning(["kept", "off"]);
  await f.waitOutput(/state_file .*sup\.state: ignored, it is corrupt/);
});
