// Observability (contract §11): the event stream over the socket, and metrics in the Prometheus
// text format from `metrics` and from the HTTP listener, checked with a strict parser.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

/** a raw client that collects every line of a streaming reply */
async function subscribe(path: string, req: object, read = true) {
  const lines: any[] = [];
  let buf = "";
  const sock = await Bun.connect({
    unix: path,
    socket: {
      data(_s, d) {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          lines.push(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
        }
      },
    },
  });
  if (!read) (sock as unknown as { pause(): void }).pause();
  sock.write(JSON.stringify(req) + "\n");
  return { lines, sock };
}

/**
 * A strict reader of the text exposition format 0.0.4: HELP/TYPE lines, then samples
 * `name{label="v",...} value` of a declared family; returns samples by "name{labels}".
 */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (help) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
    if (type) {
      expect(types.has(type[1]!)).toBe(false);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)\})? (-?[0-9.e+]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const family = m[1]!;
    expect(types.has(family)).toBe(true);
    if (types.get(family) === "counter") expect(family.endsWith("_total")).toBe(true);
    samples.set(`${family}${m[2] ?? ""}`, Number(m[4]));
  }
  return samples;
}

test("events: every state change in order with its reason and pid, and sup's lifecycle; a reader that does not read loses events for itself only", async () => {
  f = new SupFixture(`
[companions.web]
command = "forever"
startsecs = 0.2
[companions.crash]
command = ["sh", "-c", "exit 3"]
startsecs = 0
restart = "never"
autostart = false
`);
  await f.start();
  await f.waitState("web", "RUNNING");
  const sub = await subscribe(f.socket, { cmd: "events" });
  await waitFor("the stream to open", async () => sub.lines.length, (n) => n >= 1, 10_000);
  expect(sub.lines[0]).toEqual({ ok: true, streaming: true });
  expect((await f.request({ cmd: "stop", name: "web", wait: true })).ok).toBe(true);
  expect((await f.request({ cmd: "start", name: "web", wait: true })).ok).toBe(true);
  await f.request({ cmd: "start", name: "crash" });
  await f.waitState("crash", "EXITED");
  f.write(`
[companions.web]
command = "forever"
startsecs = 0.2
`);
  expect((await f.request({ cmd: "reread" })).ok).toBe(true);
  const want = [
    ["web", "RUNNING", "STOPPING"],
    ["web", "STOPPING", "STOPPED"],
    ["web", "STOPPED", "STARTING"],
    ["web", "STARTING", "RUNNING"],
    ["crash", "STOPPED", "STARTING"],
    ["crash", "STARTING", "RUNNING"],
    ["crash", "RUNNING", "EXITED"],
  ];
  const got = await waitFor(
    "the scripted changes and the reload",
    async () => sub.lines.slice(1),
    (l) => l.filter((e) => e.event === "reload").length === 1 && l.filter((e) => e.from).length >= want.length,
    15_000,
  );
  const changes = got.filter((e) => e.from);
  expect(changes.slice(0, want.length).map((e) => [e.name, e.from, e.to])).toEqual(want);
  for (const e of changes) {
    expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(typeof e.reason).toBe("string");
  }
  expect(changes.find((e) => e.to === "EXITED").reason).toContain("exited with status 3");
  expect(got.find((e) => e.event === "reload")).toMatchObject({ removed: ["crash"] });

  // a subscriber that never reads, while a crash loop produces events: others are not slowed
  const deaf = await subscribe(f.socket, { cmd: "events" }, false);
  f.write(`
[companions.web]
command = "forever"
startsecs = 0.2
[companions.loop]
command = ["sh", "-c", "printf '%2000s' x; exit 1"]
startsecs = 0
restart_delay = 0
backoff = "fixed"
`);
  await f.request({ cmd: "reread" });
  await f.waitEntry("loop", "to restart 1500 times (~4500 events, more than a socket and the 256 KiB backlog hold)", (e) => e.restart_count >= 1500, 50_000);
  const t0 = performance.now();
  expect((await f.request({ cmd: "version" })).ok).toBe(true);
  expect(performance.now() - t0).toBeLessThan(5_000);
  (deaf.sock as unknown as { resume(): void }).resume();
  await waitFor("the deaf subscriber to be told what it lost", async () => deaf.lines, (l) => l.some((e) => typeof e.dropped === "number"), 20_000);
  sub.sock.end();
  deaf.sock.end();
});

test("metrics: the contract's families, valid exposition, values after restarts and exits; HTTP serves GET /metrics only", async () => {
  const port = 20000 + (process.pid % 20000);
  f = new SupFixture(`
[sup]
metrics = "127.0.0.1:${port}"
[companions.web]
command = "forever"
startsecs = 0
[companions.once]
command = ["sh", "-c", "exit 0"]
startsecs = 0
restart = "never"
`);
  await f.start();
  const web = await f.waitState("web", "RUNNING");
  await f.waitState("once", "EXITED");
  process.kill(web.pid!, "SIGKILL");
  await f.waitEntry("web", "to be back", (e) => e.state === "RUNNING" && e.pid !== web.pid);
  const viaSocket = await f.request({ cmd: "metrics" });
  expect(viaSocket.ok).toBe(true);
  const m = parseExposition(viaSocket.text);
  expect(m.get('sup_companion_up{name="web"}')).toBe(1);
  expect(m.get('sup_companion_up{name="once"}')).toBe(0);
  expect(m.get('sup_companion_state{name="once",state="EXITED"}')).toBe(1);
  expect(m.get('sup_companion_state{name="once",state="RUNNING"}')).toBe(0);
  expect(m.get('sup_companion_restarts_total{name="web"}')).toBe(1);
  expect(m.get('sup_companion_exits_total{name="web"}')).toBe(1);
  expect(m.get('sup_companion_exits_total{name="once"}')).toBe(1);
  expect(m.get('sup_companion_processes{name="web"}')).toBeGreaterThanOrEqual(1);
  expect(m.get('sup_companion_memory_bytes{name="web"}')).toBeGreaterThan(0);
  expect(m.has('sup_companion_cpu_seconds_total{name="web"}')).toBe(true);
  expect(m.get("sup_companions_alive")).toBe(1);
  expect(m.get("sup_manager_restarts_total")).toBe(0);
  expect([...m.keys()].some((k) => k.startsWith("sup_build_info{version="))).toBe(true);

  const http = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(http.status).toBe(200);
  expect(http.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  const fromHttp = parseExposition(await http.text());
  expect(fromHttp.get('sup_companion_up{name="web"}')).toBe(1);
  expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
  expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: "POST" })).status).toBe(405);

  const ctl = await f.ctl("metrics");
  expect(ctl.code).toBe(0);
  parseExposition(ctl.stdout);

  // a second sup on the same port refuses to start, saying why
  const g = new SupFixture(`
[sup]
metrics = "127.0.0.1:${port}"
[companions.x]
command = "forever"
`);
  try {
    const r = await g.sup(["run", "-c", g.config]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`cannot serve metrics on 127.0.0.1:${port}`);
  } finally {
    await g.cleanup();
  }
});

test("metrics: sup_companion_ready and sup_companion_healthy for the companions with checks; WAITING is a state", async () => {
  f = new SupFixture(`
[companions.db]
command = "forever"
ready = { exec = "test -e go", interval = 0.1 }
health = { exec = "test ! -e sick", interval = 0.2, failures = 100 }
[companions.web]
command = "forever"
startsecs = 0
depends_on = ["db"]
`);
  await f.start();
  await f.waitEntry("db", "to be spawned", (e) => e.pid !== null);
  const before = parseExposition((await f.request({ cmd: "metrics" })).text);
  expect(before.get('sup_companion_ready{name="db"}')).toBe(0);
  expect(before.has('sup_companion_ready{name="web"}')).toBe(false);
  expect(before.get('sup_companion_state{name="web",state="WAITING"}')).toBe(1);
  f.write("", "go");
  await f.waitState("web", "RUNNING");
  const up = parseExposition((await f.request({ cmd: "metrics" })).text);
  expect(up.get('sup_companion_ready{name="db"}')).toBe(1);
  expect(up.get('sup_companion_healthy{name="db"}')).toBe(1);
  f.write("", "sick");
  await f.waitEntry("db", "to fail its health check", (e) => e.health === "failing");
  expect(parseExposition((await f.request({ cmd: "metrics" })).text).get('sup_companion_healthy{name="db"}')).toBe(0);
});
