// sup run as PID 1 of a real PID namespace (unshare --pid --fork --mount-proc, as root):
// orphans re-parented to it are reaped, and SIGTERM is a graceful stop within a container's
// usual 10 s grace.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { census, killAll, procStat } from "../helpers/census.ts";
import { SUP } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";
import { readdirSync } from "node:fs";

const mark = `pid1-${process.pid}-${Date.now()}`;
let dir = "";

afterEach(() => {
  killAll(mark);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function childrenOf(ppid: number) {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map((n) => procStat(Number(n)))
    .filter((p) => p !== null && p.ppid === ppid);
}

test("as PID 1: reaps re-parented orphans and stops gracefully on SIGTERM", async () => {
  dir = mkdtempSync(join(tmpdir(), "sup-pid1-"));
  writeFileSync(
    join(dir, "sup.toml"),
    `[defaults]
startsecs = 0
[companions.orphans]
# 20 short-lived orphans: their parent subshell exits at once, so they re-parent to PID 1
command = "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do (sleep 0.3 &); done; exec sleep 100000"
[companions.steady]
command = "sleep 100000"
`,
  );
  const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", SUP, "run", "-c", join(dir, "sup.toml")], {
    env: { ...process.env, SUP_TEST_MARK: mark },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  void new Response(proc.stderr).text().then((t) => (output += t));
  // the arbiter is unshare's child; inside the namespace it is PID 1
  const arbiter = await waitFor("the arbiter under unshare", () => childrenOf(proc.pid).find((p) => p!.cmd.includes(" run ")), (p) => !!p, 10_000);
  const pid1 = arbiter!.pid;
  await waitFor("both companions and 20 orphans to start", () => census(mark).filter((p) => p.cmd.startsWith("sleep")).length, (n) => n >= 2, 10_000);
  // every orphan ends after 0.3 s; none may stay a zombie under PID 1
  await waitFor(
    "no orphan sleep 0.3 left, alive or zombie",
    () => childrenOf(pid1).filter((p) => p!.cmd === "sleep 0.3" || p!.state === "Z"),
    (l) => l.length === 0,
    10_000,
  );
  // the namespace sees sup as PID 1
  const status = await Bun.file(`/proc/${pid1}/status`).text();
  expect(status).toMatch(/NSpid:\s+\d+\s+1\b/);
  const t0 = performance.now();
  process.kill(pid1, "SIGTERM");
  const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "timeout")]);
  expect(code, output).toBe(0);
  expect(performance.now() - t0).toBeLessThan(10_000);
  await waitFor("nothing left in the namespace", () => census(mark), (l) => l.length === 0, 5_000);
});
