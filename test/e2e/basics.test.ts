import { afterEach, expect, test } from "bun:test";
import { alive } from "../helpers/census.ts";
import { SupFixture } from "../helpers/sup.ts";

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

test("start, promote after startsecs, stop, leave nothing behind", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0.3
stop_timeout = 5
[companions.a]
command = "forever"
[companions.t]
command = "tree"
`);
  await f.start();
  const a = await f.waitState("a", "RUNNING");
  expect(a.pid).toBeNumber();
  const t = await f.waitState("t", "RUNNING");
  // the tree's grandchildren are alive and in its group
  await f.waitEntry("t", "to have 3 processes", () => f.census().filter((p) => p.pgid === t.pid).length === 3);
  const r = await f.ctl("stop", "t");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("t: stopped"); // stop waits for the outcome by default
  await f.waitState("t", "STOPPED");
  expect(f.census().filter((p) => p.pgid === t.pid)).toEqual([]);
  expect(alive(a.pid!)).toBe(true);
  f.signal("SIGTERM");
  expect(await f.waitExit()).toBe(0);
  expect(f.census()).toEqual([]);
});
