// The control protocol over the real socket: error envelopes, pipelining, id echo, the line
// cap, silent clients, and the status entry's keys.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "../helpers/socket.ts";
import { errReply, okReply, ROOT, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;

const ONE = `
[defaults]
startsecs = 0
stop_timeout = 5
[companions.a]
command = "forever"
[companions.down]
command = "exit-with 0"
restart = "never"
`;

test("malformed requests get the contract's error envelopes, all on one connection", async () => {
  f = new SupFixture(ONE);
  await f.start();
  await f.waitState("a", "RUNNING");
  await f.waitState("down", "EXITED");
  const cases: [string, Record<string, unknown>][] = [
    ["this is not json", errReply("invalid JSON", "BAD_REQUEST")],
    ['{"cmd": "status"', errReply("invalid JSON", "BAD_REQUEST")],
    ["[1, 2]", errReply("request must be a JSON object", "BAD_REQUEST")],
    ["42", errReply("request must be a JSON object", "BAD_REQUEST")],
    ['"status"', errReply("request must be a JSON object", "BAD_REQUEST")],
    ["null", errReply("request must be a JSON object", "BAD_REQUEST")],
    ["{}", errReply("missing 'cmd'", "BAD_REQUEST")],
    ['{"cmd": 5}', errReply("missing 'cmd'", "BAD_REQUEST")],
    ['{"name": "a"}', errReply("missing 'cmd'", "BAD_REQUEST")],
    ['{"cmd": "start"}', errReply("'start' requires a 'name'", "BAD_REQUEST")],
    ['{"cmd": "stop", "name": 3}', errReply("'stop' requires a 'name'", "BAD_REQUEST")],
    ['{"cmd": "restart"}', errReply("'restart' requires a 'name'", "BAD_REQUEST")],
    ['{"cmd": "signal", "signal": "HUP"}', errReply("'signal' requires a 'name'", "BAD_REQUEST")],
    ['{"cmd": "frobnicate"}', errReply("unknown command 'frobnicate'", "BAD_REQUEST")],
    ['{"cmd": "start", "name": "nope"}', errReply("unknown companion nope", "BAD_NAME")],
    ['{"cmd": "signal", "name": "nope", "signal": "SIGHUP"}', errReply("unknown companion nope", "BAD_NAME")],
    ['{"cmd": "status", "names": ["a", "nope"]}', errReply("unknown companion nope", "BAD_NAME")],
  ];
  const replies = await f.requestLines(cases.map(([line]) => line));
  expect(replies).toEqual(cases.map(([, want]) => want));

  // codes whose wording the contract leaves open: the envelope still holds
  const [notRunning, badSignal, badSignalNum] = await f.requestLines([
    '{"cmd": "signal", "name": "down", "signal": "SIGHUP"}',
    '{"cmd": "signal", "name": "a", "signal": "SIGNOPE"}',
    '{"cmd": "signal", "name": "a", "signal": 999}',
  ]);
  for (const [r, code] of [
    [notRunning, "NOT_RUNNING"],
    [badSignal, "BAD_SIGNAL"],
    [badSignalNum, "BAD_SIGNAL"],
  ] as const) {
    expect(Object.keys(r!).sort()).toEqual(["code", "error", "message", "ok"]);
    expect(r).toMatchObject({ ok: false, code });
    expect(r!.message).toBeString();
    expect(r!.message).toBe(r!.error);
  }
  // and the manager is fine
  expect((await f.entry("a")).state).toBe("RUNNING");
});

test("version reply", async () => {
  f = new SupFixture(ONE);
  await f.start();
  expect(await f.request({ cmd: "version" })).toEqual({ ok: true, version: VERSION, protocol: 2 });
});

test("pipelined requests on one connection are answered in order, each with its id echoed", async () => {
  f = new SupFixture(ONE);
  await f.start();
  await f.waitState("a", "RUNNING");
  const kinds = [{ cmd: "version" }, { cmd: "status" }, { cmd: "start", name: "a" }, { cmd: "status", names: ["down"] }, { cmd: "nope" }, { cmd: "stop", name: "zz" }];
  const reqs = Array.from({ length: 120 }, (_, i) => ({ ...kinds[i % kinds.length], id: i }));
  const replies = await f.requestLines(reqs.map((r) => JSON.stringify(r)));
  expect(replies.length).toBe(reqs.length);
  replies.forEach((r, i) => {
    expect(r.id).toBe(i);
    switch (i % kinds.length) {
      case 0:
        expect(r).toEqual({ ok: true, version: VERSION, protocol: 2, id: i });
        break;
      case 1:
        expect(r.companions.map((c: { name: string }) => c.name)).toEqual(["a", "down"]);
        break;
      case 2:
        expect(r).toEqual({ ...okReply("a already running"), id: i });
        break;
      case 3:
        expect(r.companions.map((c: { name: string }) => c.name)).toEqual(["down"]);
        break;
      case 4:
        expect(r).toEqual({ ...errReply("unknown command 'nope'", "BAD_REQUEST"), id: i });
        break;
      case 5:
        expect(r).toEqual({ ...errReply("unknown companion zz", "BAD_NAME"), id: i });
        break;
    }
  });
  // ids of any JSON type come back as sent
  const odd = [{ cmd: "version", id: "req-1" }, { cmd: "version", id: { n: [1, 2] } }, { cmd: "version", id: null }, { cmd: "version" }];
  const back = await f.requestLines(odd.map((r) => JSON.stringify(r)));
  expect(back[0]!.id).toBe("req-1");
  expect(back[1]!.id).toEqual({ n: [1, 2] });
  expect(back[2]!).toHaveProperty("id", null);
  expect(back[3]!).not.toHaveProperty("id");
});

test("a line over 1 MiB gets an error reply and the connection is closed; the manager keeps serving", async () => {
  f = new SupFixture(ONE);
  await f.start();
  await f.waitState("a", "RUNNING");
  const c = await connect(f.socket);
  // a good request first, then an endless line, never finished with "\n"
  c.write('{"cmd":"version","id":1}\n');
  const chunk = "x".repeat(64 * 1024);
  for (let i = 0; i < 20; i++) c.write(chunk); // 1.25 MiB
  try {
    await waitFor("the server to close the connection", () => c.closed, (v) => v, 15_000);
    const replies = c.text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(replies.length).toBe(2);
    expect(replies[0]).toEqual({ ok: true, version: VERSION, protocol: 2, id: 1 });
    expect(replies[1]).toMatchObject({ ok: false, code: "BAD_REQUEST" });
    expect(replies[1].message).toBe(replies[1].error);
  } finally {
    c.close();
  }
  // a long line that does end in "\n" is refused the same way
  const d = await connect(f.socket);
  try {
    d.write(JSON.stringify({ cmd: "status", pad: "y".repeat(1024 * 1024 + 10) }) + "\n");
    await waitFor("the server to close the second connection", () => d.closed, (v) => v, 15_000);
    const [r] = d.text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(r).toMatchObject({ ok: false, code: "BAD_REQUEST" });
  } finally {
    d.close();
  }
  // just under the cap is fine
  const near = await f.request({ cmd: "version", pad: "z".repeat(1024 * 1024 - 100) });
  expect(near.ok).toBe(true);
  expect((await f.entry("a")).state).toBe("RUNNING");
  expect((await f.ctl("status")).code).toBe(0);
});

test("a silent client, a half-sent line and a vanished client do not block anyone", async () => {
  f = new SupFixture(`
[companions.crash]
command = ["exit-with", "1"]
startsecs = 0
restart_delay = 0.1
`);
  await f.start();
  const silent = await connect(f.socket);
  const half = await connect(f.socket);
  half.write('{"cmd":"sta');
  const gone = await connect(f.socket);
  gone.write(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ cmd: "status", id: i })).join("\n") + "\n");
  gone.close();
  try {
    // supervision goes on: the crash loop keeps counting
    const e0 = await f.entry("crash");
    await f.waitEntry("crash", "to be restarted 3 more times", (e) => e.restart_count >= e0.restart_count + 3);
    // and others are answered
    expect((await f.request({ cmd: "version" })).ok).toBe(true);
    const st = await f.ctl("status");
    expect(st.code).toBe(4); // reachable, but the crash-looping companion is not as wanted
    expect(st.stdout).toContain("crash");
    expect(silent.closed).toBe(false);
    expect(silent.text).toBe("");
    // the half-sent line is still answered once finished
    half.write('tus","id":"late"}\n');
    await waitFor("the half-sent request to be answered", () => half.text, (t) => t.endsWith("\n"));
    const r = JSON.parse(half.text);
    expect(r.ok).toBe(true);
    expect(r.id).toBe("late");
  } finally {
    silent.close();
    half.close();
  }
});

test("status entries carry every key of the contract, in every state, in config order", async () => {
  f = new SupFixture(`
[defaults]
startsecs = 0
stop_timeout = 5
[companions.running]
command = "forever"
[companions.backoff]
command = ["exit-with", "2"]
restart_delay = 60
[companions.stopped]
command = "forever"
[companions.exited]
command = "kill-self TERM"
restart = "never"
[companions.fatal]
command = "sup-test-no-such-command"
[companions.starting]
command = "forever"
startsecs = 60
`);
  await f.start();
  await f.waitState("running", "RUNNING");
  await f.waitState("backoff", "BACKOFF");
  await f.waitState("exited", "EXITED");
  await f.waitState("fatal", "FATAL");
  await f.waitState("stopped", "RUNNING");
  await f.ctl("stop", "stopped");
  await f.waitState("stopped", "STOPPED");
  await f.waitEntry("starting", "to have a pid", (e) => e.pid !== null);
  const list = await f.status();
  expect(list.map((e) => e.name)).toEqual(["running", "backoff", "stopped", "exited", "fatal", "starting"]);
  const keys = ["name", "state", "pid", "description", "started_at", "exited_at", "next_retry_at", "restart_delay", "last_exit_code", "last_exit_signal", "restart_count", "exit_count", "manual_stop", "command"];
  for (const e of list) {
    for (const k of keys) expect(e).toHaveProperty(k);
    expect(e.state).toMatch(/^[A-Z]+$/);
    expect(typeof e.restart_count).toBe("number");
    expect(typeof e.exit_count).toBe("number");
    expect(typeof e.manual_stop).toBe("boolean");
    expect(typeof e.command).toBe("string");
    expect(typeof e.description).toBe("string");
    if (e.state !== "BACKOFF") {
      expect(e.next_retry_at).toBeNull();
      expect(e.restart_delay).toBeNull();
    }
  }
  const by = Object.fromEntries(list.map((e) => [e.name, e]));
  expect(by.running).toMatchObject({ state: "RUNNING", last_exit_code: null, last_exit_signal: null, exited_at: null, command: "forever" });
  expect(by.running!.pid).toBeNumber();
  expect(by.running!.started_at).toBeNumber();
  expect(Math.abs(by.running!.started_at! - Date.now() / 1000)).toBeLessThan(120);
  expect(by.backoff).toMatchObject({ state: "BACKOFF", pid: null, last_exit_code: 2, restart_delay: 60, command: "exit-with 2" });
  expect(by.backoff!.next_retry_at).toBeNumber();
  expect(by.backoff!.exited_at).toBeNumber();
  expect(by.stopped).toMatchObject({ state: "STOPPED", pid: null, manual_stop: true, description: "stopped, stopped manually", last_exit_signal: "SIGTERM" });
  expect(by.exited).toMatchObject({ state: "EXITED", pid: null, last_exit_code: null, last_exit_signal: "SIGTERM", description: "exited, killed by SIGTERM" });
  expect(by.fatal).toMatchObject({ state: "FATAL", pid: null, description: "fatal, command not found: sup-test-no-such-command" });
  expect(by.starting).toMatchObject({ state: "STARTING", description: "starting" });
});
