// sup's own sd_notify (§9, systemd Type=notify): with NOTIFY_SOCKET set, `sup run` sends
// READY=1 once every autostarted companion is RUNNING or finished, STATUS= with a summary,
// RELOADING=1 then READY=1 around a reload (reread, SIGHUP), STOPPING=1 at shutdown; companions
// never see that socket. test/fixtures/notify-listen stands in for systemd.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { first, freePort, NotifyListener, records, waitRecord } from "../helpers/ready.ts";
import { SupFixture } from "../helpers/sup.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(90_000);

let f: SupFixture;
let listener: NotifyListener | null = null;
afterEach(async () => {
  await listener?.stop();
  listener = null;
  await f?.cleanup();
});

async function listen(): Promise<NotifyListener> {
  listener = new NotifyListener(f.path("notify.sock"), f.path("notify.out"));
  await listener.start();
  return listener;
}

test("READY=1 only once every autostarted companion is up (or finished), with a STATUS=; companions never see sup's NOTIFY_SOCKET", async () => {
  const port = freePort();
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 5
[companions.slow]
command = "ready-server http 0 ${port} / --record slow.rec --ready-when go"
ready = { http = "http://127.0.0.1:${port}/", interval = 0.2 }
[companions.plain]
command = "print-env NOTIFY_SOCKET"
stdout = "plain.out"
[companions.n]
command = "ready-server notify 0 --record n.rec"
ready = { notify = true }
[companions.once]
command = "exit-with 0"
restart = "never"
[companions.manual]
command = "forever"
autostart = false
`);
  const l = await listen();
  await f.start({ env: { NOTIFY_SOCKET: l.path } });
  await f.waitState("n", "RUNNING", 20_000);
  await f.waitState("plain", "RUNNING");
  await f.waitState("once", "EXITED");
  // slow's check has failed three times: sup is not ready while it is STARTING
  await waitRecord(f, "slow.rec", "probe", { count: 3, detail: /^503 / });
  expect((await f.entry("slow")).state).toBe("STARTING");
  expect(l.messages().filter((m) => m.fields.READY === "1")).toEqual([]);

  f.write("", "go");
  const { msg } = await l.waitField("READY", "1");
  // systemd heard READY=1 after slow became ready (the fixture's record comes first)
  expect(msg.t).toBeGreaterThan(first(f, "slow.rec", "ready").t);
  expect((await f.entry("slow")).state).toBe("RUNNING");
  // a one-line summary
  const status = await l.waitField("STATUS");
  expect(status.msg.fields.STATUS!.length).toBeGreaterThan(0);
  expect(status.msg.fields.STATUS).not.toContain("\n");
  expect(l.messages().filter((m) => m.fields.READY === "1").length).toBe(1);

  // a companion without `notify` gets no NOTIFY_SOCKET; one with it gets sup's own
  await f.waitFile("plain.out", "to print NOTIFY_SOCKET", (t) => t.includes("NOTIFY_SOCKET="));
  expect(f.read("plain.out")).toBe("NOTIFY_SOCKET=\n");
  const own = first(f, "n.rec", "notify-socket").detail;
  expect(own).not.toBe("-");
  expect(own).not.toBe(l.path);
  expect(records(f, "slow.rec").find((r) => r.ev === "notify-socket")?.detail).toBe("-");
});

test("RELOADING=1 then READY=1 around `sup ctl reread` and SIGHUP; STOPPING=1 at SIGTERM", async () => {
  f = new SupFixture(`
[companions.a]
command = "ready-server never 0 --record a.rec"
startsecs = 0
stop_timeout = 5
`);
  const l = await listen();
  await f.start({ env: { NOTIFY_SOCKET: l.path } });
  await f.waitState("a", "RUNNING");
  await l.waitField("READY", "1");

  for (const reload of ["reread", "SIGHUP"]) {
    const mark = l.messages().length;
    if (reload === "reread") expect((await f.ctl("reread")).code).toBe(0);
    else f.signal("SIGHUP");
    const reloading = await l.waitField("RELOADING", "1", mark);
    const ready = await l.waitField("READY", "1", reloading.index);
    expect(ready.index).toBeGreaterThanOrEqual(reloading.index);
    // READY=1 may share the RELOADING=1 datagram only if it comes after it in the text
    if (ready.index === reloading.index) expect(ready.msg.raw.indexOf("READY=1")).toBeGreaterThan(ready.msg.raw.indexOf("RELOADING=1"));
    expect(l.messages().slice(mark).filter((m) => m.fields.READY === "1").length).toBe(1);
  }

  const mark = l.messages().length;
  await waitRecord(f, "a.rec", "start");
  f.signal("SIGTERM");
  expect(await f.waitExit(30_000)).toBe(0);
  await waitRecord(f, "a.rec", "TERM");
  const stopping = await l.waitField("STOPPING", "1", mark, 5_000);
  expect(stopping.index).toBeGreaterThanOrEqual(mark);
  expect(l.messages().slice(mark).filter((m) => m.fields.READY === "1")).toEqual([]);
});

test("READY=1 also when a dependency fails after its dependent began waiting (stuck: it will not start by itself)", async () => {
  f = new SupFixture(`
[companions.fat]
command = ["sh", "-c", "sleep 0.5; exit 1"]
restart = "on-failure"
max_restarts = 1
startsecs = 2
[companions.api]
command = "forever"
depends_on = ["fat"]
`);
  const l = await listen();
  await f.start({ env: { NOTIFY_SOCKET: l.path } });
  await f.waitState("fat", "FATAL", 20_000);
  await l.waitField("READY", "1");
  const api = await f.entry("api");
  expect(api.state).toBe("WAITING");
  expect(api.description).toContain("it is FATAL");
});
