// Readiness (§9): a companion with a `ready` check is STARTING (ready = false) until the check
// passes, then RUNNING; each dialect (tcp, http, notify, fd, exec, log); not ready `within` is a
// failed start; `sup ctl start` and `sup ctl wait` return at readiness; sd_notify STATUS= and
// RELOADING=1 / READY=1. The fixture becomes ready only once the test creates a trigger file,
// and `startsecs = 0`, so RUNNING before the trigger would be a promotion without the check.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { alive } from "../helpers/census.ts";
import { ctlInBackground, EventStream, first, freePort, records, waitRecord } from "../helpers/ready.ts";
import { type Entry, SupFixture } from "../helpers/sup.ts";

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
restart_delay = 60
`;

interface Dialect {
  /** the companion's command and ready keys; P is a free port */
  toml: (p: number) => string;
  /** the file whose creation makes it ready */
  trigger: string;
  /** resolves once the check has been seen to run and fail (where the fixture can see it) */
  probed?: () => Promise<unknown>;
  /** the fixture records into svc.rec */
  recorded: boolean;
}

const dialects: Record<string, Dialect> = {
  "tcp = PORT": {
    toml: (p) => `command = "ready-server tcp 0 ${p} --record svc.rec --ready-when go"\nready = { tcp = ${p} }`,
    trigger: "go",
    recorded: true,
  },
  'tcp = "host:port"': {
    toml: (p) => `command = "ready-server tcp 0 ${p} --record svc.rec --ready-when go"\nready = { tcp = "127.0.0.1:${p}" }`,
    trigger: "go",
    recorded: true,
  },
  "http (a 503 is not ready)": {
    toml: (p) => `command = "ready-server http 0 ${p} /health --record svc.rec --ready-when go"\nready = { http = "http://127.0.0.1:${p}/health", interval = 0.2 }`,
    trigger: "go",
    probed: () => waitRecord(f, "svc.rec", "probe", { count: 2, detail: /^503 \/health$/ }),
    recorded: true,
  },
  "http with status = 204 (a 200 is not ready)": {
    toml: (p) => `command = "ready-server http 0 ${p} /h 204 --before 200 --record svc.rec --ready-when go"\nready = { http = "http://127.0.0.1:${p}/h", status = 204, interval = 0.2 }`,
    trigger: "go",
    probed: () => waitRecord(f, "svc.rec", "probe", { count: 2, detail: /^200 \/h$/ }),
    recorded: true,
  },
  "notify (READY=1)": {
    toml: () => `command = "ready-server notify 0 --record svc.rec --ready-when go"\nready = { notify = true }`,
    trigger: "go",
    recorded: true,
  },
  "fd = 3 (a newline)": {
    toml: () => `command = "ready-server fd 0 --record svc.rec --ready-when go"\nready = { fd = 3 }`,
    trigger: "go",
    recorded: true,
  },
  "log (a captured line matches the regex; others do not)": {
    toml: () => `command = "echo 'not yet listening'; exec ready-server log 0 'server listening on 8080' --record svc.rec --ready-when go"\nready = { log = "listening on \\\\d+" }`,
    trigger: "go",
    recorded: true,
  },
  "exec (exit 0, in the companion's cwd and env)": {
    // the probe runs in cwd sub/ with FLAG from the companion's env; it counts its own runs
    toml: () => `command = "forever"\ncwd = "sub"\nenv = { FLAG = "go" }\nready = { exec = 'echo probe >> probes; test -e "$FLAG"', interval = 0.2 }`,
    trigger: "sub/go",
    probed: () => f.waitFile("sub/probes", "to show 2 probe runs", (t) => t.split("\n").filter(Boolean).length >= 2, 20_000),
    recorded: false,
  },
};

describe("each dialect: STARTING (ready = false) until the check passes, then RUNNING", () => {
  for (const [name, d] of Object.entries(dialects)) {
    test(name, async () => {
      const port = freePort();
      f = new SupFixture(`${HEAD}\n[companions.svc]\n${d.toml(port)}\n`);
      f.mkdir("sub");
      await f.start();
      const s = await f.waitEntry("svc", "to be spawned", (e) => e.pid !== null);
      expect(s).toMatchObject({ state: "STARTING", ready: false, health: null, waiting_for: [] });
      expect(s.description).toStartWith("starting");
      if (d.probed) await d.probed();
      else if (d.recorded) await waitRecord(f, "svc.rec", "start");
      // held back by the check alone: startsecs = 0 would have promoted it at once
      expect(await f.entry("svc")).toMatchObject({ state: "STARTING", ready: false, pid: s.pid });
      if (d.recorded) expect(records(f, "svc.rec").map((r) => r.ev)).not.toContain("ready");

      f.write("", d.trigger);
      const up = await f.waitState("svc", "RUNNING", 20_000);
      expect(up).toMatchObject({ pid: s.pid, ready: true, health: null, waiting_for: [], restart_count: 0 });
      expect(up.description).toStartWith(`running, pid ${s.pid}`);
      if (d.recorded) first(f, "svc.rec", "ready");
    });
  }

  test("notify: the companion gets a NOTIFY_SOCKET of sup's own; others get none", async () => {
    f = new SupFixture(`${HEAD}
[companions.n]
command = "ready-server notify 0 --record n.rec"
ready = { notify = true }
[companions.plain]
command = "ready-server never 0 --record plain.rec"
`);
    await f.start({ env: { NOTIFY_SOCKET: "/nonexistent/outer.sock" } });
    await f.waitState("n", "RUNNING", 20_000);
    await waitRecord(f, "plain.rec", "notify-socket");
    const sock = first(f, "n.rec", "notify-socket").detail;
    expect(sock).not.toBe("-");
    expect(sock).not.toBe("/nonexistent/outer.sock");
    expect(first(f, "plain.rec", "notify-socket").detail).toBe("-");
    expect(records(f, "n.rec").map((r) => r.ev)).not.toContain("notify-error");
  });
});

test("a check that never passes: not ready within `within` is a failed start -> BACKOFF; `sup ctl start` fails with the reason", async () => {
  const port = freePort();
  f = new SupFixture(`${HEAD}
[companions.never]
command = "ready-server never 0 --record never.rec"
ready = { tcp = ${port}, within = 2, interval = 0.2 }
autostart = false
`);
  await f.start();
  events = await EventStream.open(f);
  expect(await f.request({ cmd: "start", name: "never" })).toEqual({ ok: true, message: "never started" });
  const s = await f.waitEntry("never", "to be spawned", (e) => e.pid !== null);
  expect(s).toMatchObject({ state: "STARTING", ready: false });
  const b = await f.waitState("never", "BACKOFF", 30_000);
  expect(b).toMatchObject({ pid: null, exit_count: 1, restart_count: 0, ready: false });
  expect(b.description).toContain("not ready within");
  expect(alive(s.pid!)).toBe(false);
  // it was stopped with its stop signal, not left behind
  await waitRecord(f, "never.rec", "TERM");
  await events.waitChange("never", "to BACKOFF", (e) => e.to === "BACKOFF");
  const why = events.changes("never").filter((e) => /not ready within/.test(e.reason));
  expect(why.length).toBeGreaterThan(0);
  expect(events.changes("never").map((e) => e.to)).toEqual(["STARTING", "STOPPING", "BACKOFF"]);
  await f.waitOutput(/never.*not ready within/);

  // a waited start of the same gets the outcome: FAILED, exit 1, with the reason
  const r = await f.ctl("start", "never");
  expect(r.code).toBe(1);
  expect(r.stdout + r.stderr).toContain("not ready within");
  await f.waitState("never", "BACKOFF", 30_000);
  expect(await f.entry("never")).toMatchObject({ exit_count: 2 });
});

test("`sup ctl start NAME` (waits by default) returns only once the companion is ready", async () => {
  const port = freePort();
  f = new SupFixture(`${HEAD}
[companions.web]
command = "ready-server http 0 ${port} /health --record web.rec --ready-when go"
ready = { http = "http://127.0.0.1:${port}/health", interval = 0.2 }
autostart = false
`);
  await f.start();
  // it has a check: not ready (false), not "no check" (null)
  expect(await f.entry("web")).toMatchObject({ state: "STOPPED", ready: false });
  const bg = ctlInBackground(f, "start", "web");
  await f.waitEntry("web", "to be spawned", (e) => e.pid !== null);
  await waitRecord(f, "web.rec", "probe", { count: 3, detail: /^503 / });
  // the check has failed three times: the start is still waiting
  expect(bg.code).toBeNull();
  expect(await f.entry("web")).toMatchObject({ state: "STARTING", ready: false });
  f.write("", "go");
  const r = await bg.done;
  expect(r).toMatchObject({ code: 0, stdout: "web: started\n" });
  // the reply came at readiness: it is RUNNING and ready now, no polling needed
  expect(await f.entry("web")).toMatchObject({ state: "RUNNING", ready: true });
  first(f, "web.rec", "ready");
});

test("`sup ctl wait`: blocks until ready (exit 0), exit 4 at --timeout naming the state; --for stopped", async () => {
  const port = freePort();
  f = new SupFixture(`${HEAD}
[companions.web]
command = "ready-server http 0 ${port} / --record web.rec --ready-when go --term-delay 1"
ready = { http = "http://127.0.0.1:${port}/", interval = 0.2 }
[companions.idle]
command = "forever"
`);
  await f.start();
  await f.waitEntry("web", "to be spawned", (e) => e.pid !== null);
  await f.waitState("idle", "RUNNING");

  const late = await f.ctl("wait", "--timeout", "1", "web", "idle");
  expect(late.code).toBe(4);
  expect(late.stderr).toContain("web: not ready (STARTING");
  expect(late.stderr).not.toContain("idle");

  const bg = ctlInBackground(f, "wait", "web");
  const all = ctlInBackground(f, "wait", "all");
  await waitRecord(f, "web.rec", "probe", { count: 3, detail: /^503 / });
  expect(bg.code).toBeNull();
  expect(all.code).toBeNull();
  f.write("", "go");
  expect((await bg.done).code).toBe(0);
  expect(await f.entry("web")).toMatchObject({ state: "RUNNING", ready: true });
  expect((await all.done).code).toBe(0);

  // --for stopped: exit 4 while it runs; with a stop under way it returns once STOPPED
  const up = await f.ctl("wait", "--for", "stopped", "--timeout", "1", "web");
  expect(up.code).toBe(4);
  expect(up.stderr).toContain("web: not stopped (RUNNING");
  const down = ctlInBackground(f, "wait", "--for", "stopped", "web");
  expect((await f.ctl("stop", "--no-wait", "web")).code).toBe(0);
  expect((await down.done).code).toBe(0);
  expect(await f.entry("web")).toMatchObject({ state: "STOPPED", pid: null });
  // the companion took its time over the stop (term-delay): it had really exited
  first(f, "web.rec", "exit");
});

test("notify: STATUS= text shows in the description, before and after READY=1", async () => {
  f = new SupFixture(`${HEAD}
[companions.n]
command = ["ready-server", "notify", "0", "--record", "n.rec", "--ready-when", "go", "--status", "serving 3 clients", "--on", "warm", "STATUS=warming up", "--on", "more", "STATUS=serving 5 clients"]
ready = { notify = true }
`);
  await f.start();
  await f.waitEntry("n", "to be spawned", (e) => e.pid !== null);
  f.write("", "warm");
  const warming = await f.waitEntry("n", "to show STATUS=warming up", (e) => e.description.includes("warming up"), 20_000);
  expect(warming).toMatchObject({ state: "STARTING", ready: false });
  f.write("", "go");
  const up = await f.waitEntry("n", "to be RUNNING with the READY=1 datagram's STATUS", (e) => e.state === "RUNNING" && e.description.includes("serving 3 clients"), 20_000);
  expect(up.ready).toBe(true);
  expect(up.description).toStartWith(`running, pid ${up.pid}`);
  f.write("", "more");
  await f.waitEntry("n", "to show the new STATUS", (e) => e.description.includes("serving 5 clients") && !e.description.includes("serving 3 clients"), 20_000);
  // `status NAME` shows it too
  const detail = await f.ctl("status", "n");
  expect(detail.stdout).toContain("serving 5 clients");
});

test("notify: RELOADING=1 makes it not ready (status and wait say so) until the next READY=1; no restart", async () => {
  f = new SupFixture(`${HEAD}
[companions.n]
command = ["ready-server", "notify", "0", "--record", "n.rec", "--on", "reload", "RELOADING=1", "--on", "again", "READY=1"]
ready = { notify = true }
`);
  await f.start();
  const up = await f.waitEntry("n", "to be RUNNING and ready", (e) => e.state === "RUNNING" && e.ready === true, 20_000);
  expect((await f.ctl("status", "n")).code).toBe(0);

  f.write("", "reload");
  const reloading = await f.waitEntry("n", "to be not ready after RELOADING=1", (e) => e.ready === false, 20_000);
  expect(reloading).toMatchObject({ pid: up.pid, restart_count: 0, exit_count: 0 });
  expect((await f.ctl("status", "n")).code).toBe(4);
  expect((await f.ctl("wait", "--timeout", "1", "n")).code).toBe(4);

  const bg = ctlInBackground(f, "wait", "n");
  f.write("", "again");
  expect((await bg.done).code).toBe(0);
  const back: Entry = await f.entry("n");
  expect(back).toMatchObject({ state: "RUNNING", ready: true, pid: up.pid, restart_count: 0 });
  expect((await f.ctl("status", "n")).code).toBe(0);
});
