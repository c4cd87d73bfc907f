// instances = N (contract §12): NAME.1 … NAME.N, each with SUP_INSTANCE and SUP_NAME (also
// interpolated); a command on NAME acts on every instance, NAME.2 on one.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { SupFixture, FIXTURES } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

test("instances: names, environment, interpolation, commands on the group and on one", async () => {
  f = new SupFixture(`
[companions.worker]
command = ["sh", "-c", "echo \\"$SUP_NAME $SUP_INSTANCE $PORT\\" > out-$SUP_INSTANCE.txt; exec sleep 100000"]
env = { PORT = "80\${SUP_INSTANCE}" }
instances = 3
startsecs = 0
[companions.single]
command = "forever"
startsecs = 0
`);
  await f.start();
  const names = ["worker.1", "worker.2", "worker.3", "single"];
  await f.allRunning(names);
  const st = await f.status();
  expect(st.map((e) => e.name)).toEqual(names);
  expect(st.map((e) => e.instance)).toEqual([1, 2, 3, null]);
  for (const i of [1, 2, 3]) await f.waitFile(`out-${i}.txt`, "to be written", (t) => t.trim() === `worker.${i} ${i} 80${i}`);
  // a command on the group acts on all of them, on NAME.2 on one
  const r = await f.request({ cmd: "stop", name: "worker", wait: true });
  expect(r).toMatchObject({ ok: true, message: "worker.1 stopped; worker.2 stopped; worker.3 stopped" });
  expect((await f.request({ cmd: "start", name: "worker.2", wait: true })).ok).toBe(true);
  const after = await f.request({ cmd: "status", names: ["worker"] });
  expect(after.companions.map((e: { name: string; state: string }) => `${e.name}=${e.state}`)).toEqual(["worker.1=STOPPED", "worker.2=RUNNING", "worker.3=STOPPED"]);
  const ctl = await f.ctl("start", "worker");
  expect(ctl.code).toBe(0);
  await f.allRunning(["worker.1", "worker.2", "worker.3"]);
  expect(FIXTURES.length).toBeGreaterThan(0);
});

test("a name taken twice after expansion is a config error", async () => {
  f = new SupFixture(`
[companions.web]
command = "forever"
instances = 2
[companions."web.2"]
command = "forever"
`);
  const r = await f.sup(["check", "-c", f.config]);
  expect(r.code).toBe(2);
  expect(r.stderr + r.stdout).toContain("duplicate companion name web.2");
});

test("scale: new instances start, the highest numbers stop, the rest keep their pids; a reread that changes instances in the file wins", async () => {
  f = new SupFixture(`
[companions.worker]
command = ["sh", "-c", "echo $SUP_INSTANCE > scaled-$SUP_INSTANCE.txt; exec sleep 100000"]
instances = 2
startsecs = 0
`);
  await f.start();
  const before = await f.allRunning(["worker.1", "worker.2"]);
  expect(await f.request({ cmd: "scale", name: "worker", instances: 4 })).toMatchObject({ ok: true, added: ["worker.3", "worker.4"], removed: [] });
  const up = await f.allRunning(["worker.1", "worker.2", "worker.3", "worker.4"]);
  expect(up["worker.1"]).toBe(before["worker.1"]!);
  await f.waitFile("scaled-4.txt", "instance 4 to run", (t) => t.trim() === "4");
  const r = await f.ctl("scale", "worker", "1");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("removed: worker.2, worker.3, worker.4");
  await f.waitEntry("worker.1", "to keep running", (e) => e.state === "RUNNING");
  await waitGone(f, ["worker.2", "worker.3", "worker.4"]);
  expect((await f.entry("worker.1")).pid).toBe(before["worker.1"]!);
  // a reread with the file unchanged keeps the scale; a changed count in the file wins
  expect((await f.request({ cmd: "reread" })).ok).toBe(true);
  expect((await f.status()).map((e) => e.name)).toEqual(["worker.1"]);
  f.write(`
[companions.worker]
command = ["sh", "-c", "echo $SUP_INSTANCE > scaled-$SUP_INSTANCE.txt; exec sleep 100000"]
instances = 3
startsecs = 0
`);
  expect((await f.request({ cmd: "reread" })).ok).toBe(true);
  await f.allRunning(["worker.1", "worker.2", "worker.3"]);
  expect(await f.request({ cmd: "scale", name: "nope", instances: 2 })).toMatchObject({ ok: false, code: "BAD_NAME" });
  expect(await f.request({ cmd: "scale", name: "worker", instances: 0 })).toMatchObject({ ok: false, code: "BAD_REQUEST" });
});

async function waitGone(fx: SupFixture, names: string[]): Promise<void> {
  const { waitFor } = await import("../helpers/wait.ts");
  await waitFor(`${names.join(", ")} to be gone`, () => fx.status(), (l) => l.every((e) => !names.includes(e.name)), 15_000);
}
