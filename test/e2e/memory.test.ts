// max_memory (contract §10) through the real binary: a companion whose tree holds more resident
// memory than its limit is restarted, with the reason in the log and in status; one under its
// limit is left alone.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { SupFixture } from "../helpers/sup.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

// a child that touches N MB and sleeps: its parent shell stays small, the tree's sum is what counts
const hog = (mb: number) => `["sh", "-c", "python3 -c 'import time; a = bytearray(${mb} * 1000 * 1000); time.sleep(100000)' & wait"]`;

test("a tree over max_memory is restarted with the reason; one under it keeps its pid", async () => {
  f = new SupFixture(`
[companions.hog]
command = ${hog(120)}
startsecs = 0.2
max_memory = "60MB"

[companions.lean]
command = ${hog(5)}
startsecs = 0.2
max_memory = "200MB"
`);
  await f.start();
  const lean = await f.waitState("lean", "RUNNING");
  await f.waitOutput(/hog RUNNING -> STOPPING \(memory limit: \d+MB > 60MB\)/, 30_000);
  const back = await f.waitEntry("hog", "to be restarted", (e) => e.restart_count >= 1 && e.state !== "STOPPING", 30_000);
  expect(back.exit_count).toBeGreaterThanOrEqual(1);
  expect((await f.entry("lean")).pid).toBe(lean.pid);
  expect((await f.entry("lean")).restart_count).toBe(0);
});
