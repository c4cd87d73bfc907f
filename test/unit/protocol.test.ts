// The control protocol (contract §5): one request line -> one reply object, exact error
// envelopes and codes. The manager is a fake ControlApi that records what it was asked.
import { expect, test } from "bun:test";
import { handleLine, PROTOCOL, type ControlApi } from "../../src/control/protocol.ts";
import type { StatusEntry } from "../../src/core/describe.ts";
import type { Reply } from "../../src/core/types.ts";
import type { RereadResult } from "../../src/manager/supervisor.ts";

function entry(name: string): StatusEntry {
  return {
    name,
    state: "RUNNING",
    pid: 42,
    description: "running, pid 42, uptime 0:00:01",
    started_at: 1,
    exited_at: null,
    next_retry_at: null,
    restart_delay: null,
    last_exit_code: null,
    last_exit_signal: null,
    restart_count: 0,
    exit_count: 0,
    manual_stop: false,
    command: "prog",
    uptime: 1,
    processes: 1,
    cpu_percent: 0,
    rss_bytes: 4096,
    ready: null,
    health: null,
    waiting_for: [],
    last_stderr: [],
    instance: null,
  };
}

class FakeApi implements ControlApi {
  version = "9.8.7";
  calls: unknown[][] = [];
  known = ["web", "worker"];
  commandReply: Reply = { ok: true, message: "web started" };
  rereadResult: { ok: true; result: RereadResult } | { ok: false; error: string } = {
    ok: true,
    result: { added: ["c"], removed: [], restarted: ["b"], updated: [], unchanged: ["a"], warnings: [] },
  };
  throwWith: unknown = null;

  private maybeThrow(): void {
    if (this.throwWith !== null) throw this.throwWith;
  }
  names(): string[] {
    return [...this.known];
  }
  has(name: string): boolean {
    return this.known.includes(name);
  }
  status(names?: string[]): StatusEntry[] {
    this.maybeThrow();
    this.calls.push(["status", names]);
    return (names ?? this.known).map(entry);
  }
  command(cmd: "start" | "stop" | "restart", name: string): Reply {
    this.maybeThrow();
    this.calls.push([cmd, name]);
    if (!this.has(name)) return { ok: false, message: `unknown companion ${name}`, code: "BAD_NAME" };
    return this.commandReply;
  }
  signal(name: string, signal: string, group: boolean): Reply {
    this.maybeThrow();
    this.calls.push(["signal", name, signal, group]);
    return { ok: true, message: `${name} sent ${signal}` };
  }
  async reread(): Promise<{ ok: true; result: RereadResult } | { ok: false; error: string }> {
    this.maybeThrow();
    this.calls.push(["reread"]);
    return this.rereadResult;
  }
}

const bad = (message: string, code: string) => ({ ok: false, message, error: message, code });

test("malformed JSON", async () => {
  const api = new FakeApi();
  expect(await handleLine("{nope", api)).toEqual(bad("invalid JSON", "BAD_REQUEST"));
  expect(await handleLine("", api)).toEqual(bad("invalid JSON", "BAD_REQUEST"));
  expect(api.calls).toEqual([]);
});

test.each(["[]", "[1]", '"status"', "42", "null", "true"])("a non-object request %p", async (line) => {
  expect(await handleLine(line, new FakeApi())).toEqual(bad("request must be a JSON object", "BAD_REQUEST"));
});

test.each(["{}", '{"cmd":5}', '{"cmd":null}', '{"command":"status"}'])("no string cmd: %p", async (line) => {
  expect(await handleLine(line, new FakeApi())).toEqual(bad("missing 'cmd'", "BAD_REQUEST"));
});

test.each(["start", "stop", "restart"])("%s without a string name", async (cmd) => {
  const api = new FakeApi();
  expect(await handleLine(JSON.stringify({ cmd }), api)).toEqual(bad(`'${cmd}' requires a 'name'`, "BAD_REQUEST"));
  expect(await handleLine(JSON.stringify({ cmd, name: 3 }), api)).toEqual(bad(`'${cmd}' requires a 'name'`, "BAD_REQUEST"));
  expect(api.calls).toEqual([]);
});

test("an unknown command", async () => {
  expect(await handleLine('{"cmd":"explode"}', new FakeApi())).toEqual(bad("unknown command 'explode'", "BAD_REQUEST"));
});

test("start/stop/restart pass through to the api; ok replies carry ok and message only", async () => {
  const api = new FakeApi();
  expect(await handleLine('{"cmd":"start","name":"web"}', api)).toEqual({ ok: true, message: "web started" });
  api.commandReply = { ok: true, message: "web stopping" };
  expect(await handleLine('{"cmd":"stop","name":"web"}', api)).toEqual({ ok: true, message: "web stopping" });
  expect(api.calls).toEqual([
    ["start", "web"],
    ["stop", "web"],
  ]);
});

test("a refused command: ok false with message, error and its code", async () => {
  const api = new FakeApi();
  api.commandReply = { ok: false, message: "web is stopping; retry", code: "STOPPING" };
  expect(await handleLine('{"cmd":"restart","name":"web"}', api)).toEqual(bad("web is stopping; retry", "STOPPING"));
  expect(await handleLine('{"cmd":"start","name":"ghost"}', api)).toEqual(bad("unknown companion ghost", "BAD_NAME"));
});

test("status: all companions, or the names asked for; unknown names and bad names lists refused", async () => {
  const api = new FakeApi();
  expect(await handleLine('{"cmd":"status"}', api)).toEqual({ ok: true, companions: [entry("web"), entry("worker")] });
  expect(await handleLine('{"cmd":"status","names":["worker"]}', api)).toEqual({ ok: true, companions: [entry("worker")] });
  expect(await handleLine('{"cmd":"status","names":null}', api)).toEqual({ ok: true, companions: [entry("web"), entry("worker")] });
  expect(await handleLine('{"cmd":"status","names":["web","ghost"]}', api)).toEqual(bad("unknown companion ghost", "BAD_NAME"));
  expect(await handleLine('{"cmd":"status","names":"web"}', api)).toEqual(bad("'names' must be an array of strings", "BAD_REQUEST"));
  expect(await handleLine('{"cmd":"status","names":[1]}', api)).toEqual(bad("'names' must be an array of strings", "BAD_REQUEST"));
});

test("signal: name and signal checked, the name resolved, group passed through", async () => {
  const api = new FakeApi();
  expect(await handleLine('{"cmd":"signal","name":"web","signal":"HUP"}', api)).toEqual({ ok: true, message: "web sent SIGHUP" });
  expect(await handleLine('{"cmd":"signal","name":"web","signal":10,"group":true}', api)).toEqual({ ok: true, message: "web sent SIGUSR1" });
  expect(api.calls).toEqual([
    ["signal", "web", "SIGHUP", false],
    ["signal", "web", "SIGUSR1", true],
  ]);
  expect(await handleLine('{"cmd":"signal","name":"web","signal":"SIGNOPE"}', api)).toEqual(bad('unknown signal "SIGNOPE"', "BAD_SIGNAL"));
  expect(await handleLine('{"cmd":"signal","name":"ghost","signal":"TERM"}', api)).toEqual(bad("unknown companion ghost", "BAD_NAME"));
  expect(await handleLine('{"cmd":"signal","signal":"TERM"}', api)).toEqual(bad("'signal' requires a 'name'", "BAD_REQUEST"));
  expect(await handleLine('{"cmd":"signal","name":"web"}', api)).toEqual(bad("'signal' requires a 'signal'", "BAD_REQUEST"));
  expect(api.calls).toHaveLength(2);
});

test("reread: the diff, or the refusal that keeps the old config", async () => {
  const api = new FakeApi();
  expect(await handleLine('{"cmd":"reread"}', api)).toEqual({ ok: true, added: ["c"], removed: [], restarted: ["b"], updated: [], unchanged: ["a"], warnings: [] });
  api.rereadResult = { ok: false, error: 'companions.web.stop_signal: unknown signal "SIGTRM"' };
  const r = await handleLine('{"cmd":"reread","id":7}', api);
  expect(r).toEqual({
    ...bad('invalid config: companions.web.stop_signal: unknown signal "SIGTRM"', "INVALID_CONFIG"),
    kept_old_config: true,
    id: 7,
  });
  expect(String(r.error)).toStartWith("invalid config: ");
});

test("version", async () => {
  expect(await handleLine('{"cmd":"version"}', new FakeApi())).toEqual({ ok: true, version: "9.8.7", protocol: PROTOCOL });
  expect(PROTOCOL).toBe(2);
});

test("an api that throws gives an INTERNAL reply, never a throw", async () => {
  const api = new FakeApi();
  api.throwWith = new Error("boom");
  expect(await handleLine('{"cmd":"status","id":"a"}', api)).toEqual({ ...bad("internal error: boom", "INTERNAL"), id: "a" });
  expect(await handleLine('{"cmd":"start","name":"web"}', api)).toEqual(bad("internal error: boom", "INTERNAL"));
  expect(await handleLine('{"cmd":"reread"}', api)).toEqual(bad("internal error: boom", "INTERNAL"));
  api.throwWith = "plain string";
  expect(await handleLine('{"cmd":"stop","name":"web"}', api)).toEqual(bad("internal error: plain string", "INTERNAL"));
});

test("id is echoed on ok and error replies, whatever its type", async () => {
  const api = new FakeApi();
  expect(await handleLine('{"cmd":"version","id":1}', api)).toMatchObject({ ok: true, id: 1 });
  expect(await handleLine('{"cmd":"start","name":"web","id":"x-1"}', api)).toEqual({ ok: true, message: "web started", id: "x-1" });
  expect(await handleLine('{"cmd":"nope","id":{"a":1}}', api)).toEqual({ ...bad("unknown command 'nope'", "BAD_REQUEST"), id: { a: 1 } });
  expect(await handleLine('{"id":null}', api)).toEqual({ ...bad("missing 'cmd'", "BAD_REQUEST"), id: null });
  // no id asked, none given
  expect(await handleLine('{"cmd":"version"}', api)).not.toHaveProperty("id");
});
