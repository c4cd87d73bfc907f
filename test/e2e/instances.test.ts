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
