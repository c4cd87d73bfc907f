// Health (§9): a tcp / http / exec check while RUNNING; `health` reads "ok", then "failing" once
// it fails, and after `failures` consecutive failures the companion is restarted with a reason
// "unhealthy: ..."; a notify companion's watchdog: no WATCHDOG=1 in time is a failure too.
// The fixture turns sick while a file exists (test/fixtures/ready-server --fail-when).
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { alive } from "../helpers/census.ts";
import { EventStream, freePort, records, waitRecord } from "../helpers/ready.ts";
import { type Entry, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(90_000);

let f: SupFixture;
let events: EventStream | null = null;
afterEach(async () => {
  events?.close();
  events = null;
  await f?.cleanup();
});

const HEAD = `
[defaults]
startsecs = 0
stop_timeout = 5
reload_timeout = 5
`;

/**
 * Make `name` sick (create `sick`), and wait for its health restart: returns the entries seen
 * on the way. `health` must read "failing" while the same process still runs, before it is
 * restarted.
 */
async function sickenUntilRestart(name: string, sick: string): Promise<{ seen: Entry[]; after: Entry }> {
  const seen: Entry[] = [];
  f.write("", sick);
  const after = await waitFor(
    `${name} to be restarted for being unhealthy`,
    async () => {
      const e = await f.entry(name);
      seen.push(e);
      return e;
    },
    (e) => e.restart_count >= 1,
    40_000,
    20,
  );
  return { seen, after };
}

const probes: Record<string, { toml: (p: number) => string; failures: number }> = {
  http: {
    toml: (p) => `command = "ready-server http 0 ${p} /health --record svc.rec --fail-when sick"\nhealth = { http = "http://127.0.0.1:${p}/health", interval = 1, timeout = 1, failures = 3 }`,
    failures: 3,
  },
  tcp: {
    toml: (p) => `command = "ready-server tcp 0 ${p} --record svc.rec --fail-when sick"\nhealth = { tcp = ${p}, interval = 1, timeout = 1, failures = 3 }`,
    failures: 3,
  },
  exec: {
    toml: () => `command = "ready-server never 0 --record svc.rec"\nhealth = { exec = "test ! -e sick", interval = 1, timeout = 1, failures = 3 }`,
    failures: 3,
  },
};

for (const [kind, c] of Object.entries(probes)) {
  test(`${kind} health: "ok", then "failing", then a restart with reason "unhealthy: ..." after ${c.failures} failures; healthy again after it`, async () => {
    const port = freePort();
    f = new SupFixture(`${HEAD}\n[companions.svc]\n${c.toml(port)}\n`);
    await f.start();
    events = await EventStream.open(f);
    const ok = await f.waitEntry("svc", 'to be RUNNING with health "ok"', (e) => e.state === "RUNNING" && e.health === "ok", 20_000);
    // health is not readiness: no ready check, so ready stays null
    expect(ok).toMatchObject({ ready: null, restart_count: 0 });
    await waitRecord(f, "svc.rec", "start");

    const { seen, after } = await sickenUntilRestart("svc", "sick");
    // it was seen failing while the first process still ran, before the restart
    const failing = seen.find((e) => e.pid === ok.pid && e.state === "RUNNING" && e.health === "failing");
    expect(failing).toBeDefined();
    expect(after.restart_count).toBe(1);
    const why = await events.waitChange("svc", "leaving RUNNING for being unhealthy", (e) => e.from === "RUNNING");
    expect(why.reason).toStartWith("unhealthy:");
    expect(why.to).toBe("STOPPING");
    await f.waitOutput(/unhealthy:/);
    if (kind === "http") {
      // the restart came only after `failures` consecutive failing probes
      const answered = records(f, "svc.rec").filter((r) => r.ev === "probe" || r.ev === "TERM");
      const term = answered.findIndex((r) => r.ev === "TERM");
      expect(answered.slice(0, term).filter((r) => r.detail.startsWith("500")).length).toBeGreaterThanOrEqual(c.failures);
    }
    await waitFor("the unhealthy process to be gone", () => alive(ok.pid!), (a) => !a, 20_000);

    rmSync(f.path("sick"), { force: true });
    const back = await f.waitEntry("svc", 'to run again with health "ok"', (e) => e.state === "RUNNING" && e.pid !== ok.pid && e.health === "ok", 30_000);
    expect(back.restart_count).toBe(1);
    expect(back.manual_stop).toBe(false);
  });
}

test("watchdog: WATCHDOG=1 in time keeps it up; when the pings stop it is restarted as unhealthy", async () => {
  f = new SupFixture(`${HEAD}
[companions.wd]
command = "ready-server notify 0 --record wd.rec --watchdog 0.3 --fail-when quiet"
ready = { notify = true }
health = { watchdog = 1.5 }
`);
  await f.start();
  events = await EventStream.open(f);
  const up = await f.waitEntry("wd", "to be RUNNING and ready", (e) => e.state === "RUNNING" && e.ready === true, 20_000);
  // ten pings (3 s, twice the watchdog) later it is still the same, healthy process
  const pings = records(f, "wd.rec").filter((r) => r.ev === "watchdog").length;
  await waitRecord(f, "wd.rec", "watchdog", { count: pings + 10, timeoutMs: 30_000 });
  expect(await f.entry("wd")).toMatchObject({ state: "RUNNING", pid: up.pid, restart_count: 0, health: "ok" });

  const { after } = await sickenUntilRestart("wd", "quiet");
  expect(after.restart_count).toBe(1);
  const why = await events.waitChange("wd", "leaving RUNNING for missing pings", (e) => e.from === "RUNNING");
  expect(why.reason).toStartWith("unhealthy:");
  await waitRecord(f, "wd.rec", "TERM");

  rmSync(f.path("quiet"), { force: true });
  const back = await f.waitEntry("wd", "to run again, ready and healthy", (e) => e.state === "RUNNING" && e.pid !== up.pid && e.ready === true && e.health !== "failing", 30_000);
  expect(back.restart_count).toBe(1);
});
