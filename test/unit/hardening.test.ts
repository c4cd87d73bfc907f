// Hardening kinds that the loop and the OS seam own: durations past setTimeout's range, exits
// that happened during a stall before due deadlines, shortages (EMFILE) as transient spawn
// failures, and sup's own log never buffering without bound.
import { describe as group, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Supervisor } from "../../src/manager/supervisor.ts";
import { BoundedWriter } from "../../src/os/log.ts";
import { FdBudget, FD_RESERVE } from "../../src/os/fds.ts";
import { MAX_TIMER_MS, setLongTimeout } from "../../src/os/timer.ts";
import { FakeHost } from "../helpers/fake-host.ts";
import { makeConfig, type RawTable } from "../helpers/specs.ts";

function setup(companions: Record<string, RawTable>) {
  const host = new FakeHost();
  const sup = new Supervisor(makeConfig(companions), host);
  const st = (name: string) => sup.status([name])[0]!;
  return { host, sup, st };
}

const DAY = 86_400_000;

group("durations longer than a timer can hold", () => {
  test("setLongTimeout never hands setTimeout more than 2^31-1 ms, and a step that ends early re-arms instead of firing", () => {
    const real = globalThis.setTimeout;
    const armed: { fn: () => void; ms: number }[] = [];
    globalThis.setTimeout = ((fn: () => void, ms: number) => {
      armed.push({ fn, ms });
      return 0 as unknown as ReturnType<typeof setTimeout>;
    }) as typeof setTimeout;
    let fired = 0;
    try {
      setLongTimeout(() => fired++, 2_200_000_000 * 1.5);
      expect(armed).toHaveLength(1);
      expect(armed[0]!.ms).toBe(MAX_TIMER_MS);
      armed[0]!.fn(); // the step elapsed (as far as setTimeout knows), but the deadline has not
      expect(fired).toBe(0);
      expect(armed).toHaveLength(2);
      expect(armed[1]!.ms).toBeLessThanOrEqual(MAX_TIMER_MS);
      expect(armed[1]!.ms).toBeGreaterThan(MAX_TIMER_MS / 2);
    } finally {
      globalThis.setTimeout = real;
    }
  });

  test("setLongTimeout fires a short delay, never before it, and clear() cancels", async () => {
    const t0 = performance.now();
    const at = await new Promise<number>((r) => setLongTimeout(() => r(performance.now()), 30));
    expect(at - t0).toBeGreaterThanOrEqual(30);
    let fired = false;
    const h = setLongTimeout(() => (fired = true), 5);
    h.clear();
    await Bun.sleep(30);
    expect(fired).toBe(false);
  });

  test("startsecs = 2200000 (25.5 days): the loop arms one far timer and promotes exactly then", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 2_200_000 } });
    sup.startAll();
    expect(host.timerAt).toBe(2_200_000_000);
    host.advanceTo(25 * DAY); // past setTimeout's range: nothing fires early
    expect(st("web").state).toBe("STARTING");
    host.advanceTo(2_200_000_000);
    expect(st("web").state).toBe("RUNNING");
  });

  test("a huge restart_delay shows a finite countdown and finite numbers in status", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 0, restart_delay: 3_000_000, backoff: "fixed" } });
    sup.startAll();
    host.exitOf("web", 1);
    const e = st("web");
    expect(e.state).toBe("BACKOFF");
    expect(e.restart_delay).toBe(3_000_000);
    expect(Number.isFinite(e.next_retry_at)).toBe(true);
    expect(e.description).toMatch(/retrying in 3000000s$/);
  });
});

group("exits that already happened go before due deadlines", () => {
  test("a process that died during a stall is never promoted to RUNNING", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 3 } });
    sup.startAll();
    host.advanceTo(1000);
    const pid = host.dieUndelivered("web"); // it exits at 1 s; the loop is stopped until 5 s
    host.stallTo(5000); // the startsecs deadline (3 s) is long due when the loop wakes
    expect(st("web").state).toBe("STARTING");
    expect(host.timerAt).toBeLessThanOrEqual(5010); // it looks again in a moment
    expect(host.logs.some((l) => l.includes("STARTING -> RUNNING"))).toBe(false);
    host.deliver(pid, 1);
    expect(st("web")).toMatchObject({ state: "BACKOFF", exit_count: 1, last_exit_code: 1 });
    expect(host.logs.some((l) => l.includes("STARTING -> RUNNING"))).toBe(false);
  });

  test("an exit that never arrives holds the deadline back for at most a second", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 1 } });
    sup.startAll();
    host.dieUndelivered("web");
    host.advanceTo(1500);
    expect(st("web").state).toBe("STARTING");
    host.advanceTo(2100);
    expect(st("web").state).toBe("RUNNING");
  });
});

group("running out of file descriptors", () => {
  test("a transient spawn failure (EMFILE) is a BACKOFF with the reason, retried, never FATAL", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 0, restart_delay: 2 } });
    host.failNextSpawn("web", "cannot spawn prog: too many open files (EMFILE)", true);
    sup.startAll();
    expect(st("web")).toMatchObject({ state: "BACKOFF", restart_delay: 2 });
    expect(st("web").description).toBe("backoff, cannot spawn prog: too many open files (EMFILE), retrying in 2s");
    host.advanceTo(2000);
    expect(st("web")).toMatchObject({ state: "RUNNING", pid: host.pidOf("web") });
  });

  test("restart_delay = 0 still paces a transient failure (no spawn loop while fds are short)", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 0, restart_delay: 0 } });
    host.failNextSpawn("web", "too many open files", true);
    sup.startAll();
    expect(st("web").state).toBe("BACKOFF");
    expect(host.timerAt).toBe(1000);
  });

  test("a permanent spawn failure is still FATAL", () => {
    const { host, sup, st } = setup({ web: { command: "prog" } });
    host.failNextSpawn("web", "command not found: prog");
    sup.startAll();
    expect(st("web")).toMatchObject({ state: "FATAL", description: "fatal, command not found: prog" });
  });

  test("FdBudget counts only near the limit, and then exactly", () => {
    let counts = 0;
    let open = 10;
    const far = new FdBudget(100_000, () => (counts++, open));
    for (let i = 0; i < 100; i++) far.used();
    expect(far.free()).toBe(100_000 - 10 - 400);
    expect(counts).toBe(1); // the constructor's count only
    const near = new FdBudget(64, () => (counts++, open));
    open = 60;
    expect(near.free()).toBe(4);
    expect(near.free()).toBeLessThan(FD_RESERVE);
  });
});

group("sup's own log is bounded", () => {
  test("lines for a stderr that cannot take them are kept up to the cap, then dropped, counted and reported in order", () => {
    const dir = mkdtempSync(join(tmpdir(), "sup-log-"));
    const file = join(dir, "err.log");
    const fd = openSync(file, "w");
    let ok = false;
    const w = new BoundedWriter(fd, 1000, () => ok);
    try {
      for (let i = 0; i < 100; i++) w.write(`line ${String(i).padStart(3, "0")} ${"x".repeat(40)}\n`);
      expect(w.pending).toBeLessThanOrEqual(1000);
      expect(w.dropped).toBeGreaterThan(70);
      const dropped = w.dropped;
      ok = true;
      w.flush();
      expect(w.pending).toBe(0);
      const text = readFileSync(file, "utf8").split("\n").filter(Boolean);
      expect(text[0]).toContain(`${dropped} log line(s) dropped`);
      expect(text[1]).toStartWith("line 000 ");
      expect(text.length - 1 + dropped).toBe(100);
      w.write("after\n");
      expect(readFileSync(file, "utf8")).toEndWith("after\n");
    } finally {
      closeSync(fd);
    }
  });
});

test("sup's own log: a drop note never lands inside a line the fd has taken only a part of", () => {
  const dir = mkdtempSync(join(tmpdir(), "sup-log-"));
  const file = join(dir, "err.log");
  const fd = openSync(file, "w");
  let takes = 1; // the fd takes one 4 KiB piece, then is full
  const w = new BoundedWriter(fd, 20_000, () => takes-- > 0);
  try {
    const big = `${"b".repeat(10_000)}\n`;
    w.write(big);
    for (let i = 0; i < 10; i++) w.write(`${"x".repeat(3000)}\n`); // over the cap: some dropped
    expect(w.dropped).toBeGreaterThan(0);
    takes = Infinity;
    w.flush();
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    expect(lines[0]).toBe("b".repeat(10_000));
    expect(lines[1]).toContain("log line(s) dropped");
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});

group("max_memory", () => {
  test("a RUNNING companion over max_memory restarts with the reason in log and status; under it nothing happens", () => {
    const { host, sup, st } = setup({ web: { command: "prog", startsecs: 0, max_memory: "512MB" }, other: { command: "other", startsecs: 0 } });
    sup.startAll();
    const pid = host.pidOf("web");
    host.rss.set(pid, 500_000_000);
    host.rss.set(host.pidOf("other"), 9e12);
    sup.checkMemory();
    expect(st("web").state).toBe("RUNNING");
    expect(st("other").state).toBe("RUNNING"); // no key, no check
    host.rss.set(pid, 612_000_000);
    sup.checkMemory();
    expect(st("web")).toMatchObject({ state: "STOPPING", description: "stopping, memory limit: 612MB > 512MB" });
    expect(host.logs).toContain("web RUNNING -> STOPPING (memory limit: 612MB > 512MB)");
    expect(host.signalsTo(pid).map((s) => s.signal)).toEqual(["SIGTERM"]);
    host.exitPid(pid, null, "SIGTERM");
    expect(st("web")).toMatchObject({ state: "RUNNING", restart_count: 1 });
    expect(host.pidOf("web")).not.toBe(pid);
  });

  test("watchesMemory only when some companion has the key", () => {
    expect(setup({ a: { command: "a" } }).sup.watchesMemory).toBe(false);
    expect(setup({ a: { command: "a", max_memory: "1GiB" } }).sup.watchesMemory).toBe(true);
  });
});
