// Probes against hostile or broken targets (found by a break-it pass): every probe is bounded
// in time and memory, leaves no process behind, and runs with the companion's identity.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

setDefaultTimeout(90_000);

let f: SupFixture;
let server: Server | null = null;
afterEach(async () => {
  server?.close();
  server = null;
  await f?.cleanup();
});

/** an HTTP server in this test process: `answer` writes to each raw socket */
function httpServer(answer: (sock: import("node:net").Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((sock) => {
      sock.on("error", () => {});
      sock.once("data", () => answer(sock));
    });
    server.listen(0, "127.0.0.1", () => resolve((server!.address() as { port: number }).port));
  });
}

function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0) * 1024;
}

test("http health against an endless body: at most 64 KiB read per probe, the manager stays small", async () => {
  const chunk = Buffer.alloc(64 * 1024, 120);
  const port = await httpServer((sock) => {
    sock.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
    const pump = () => {
      while (!sock.destroyed && sock.write(chunk));
      if (!sock.destroyed) sock.once("drain", pump);
    };
    pump();
  });
  f = new SupFixture(`[companions.web]\ncommand = "forever"\nstartsecs = 0\nhealth = { http = "http://127.0.0.1:${port}/", interval = 0.1, timeout = 2 }\n`);
  await f.start();
  await f.waitState("web", "RUNNING");
  const manager = f.managerPid()!;
  // 20+ probes of an endless body
  await Bun.sleep(3000);
  expect(rssOf(manager)).toBeLessThan(250 * 1024 * 1024);
  expect(await f.entry("web")).toMatchObject({ state: "RUNNING", health: "ok", restart_count: 0 });
});

test("http health against a stalled body: a failed check (the timeout covers the body), then a restart", async () => {
  const port = await httpServer((sock) => sock.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab"));
  f = new SupFixture(`[companions.web]\ncommand = "forever"\nstartsecs = 0\nhealth = { http = "http://127.0.0.1:${port}/", interval = 0.2, timeout = 0.5, failures = 2 }\n`);
  await f.start();
  const up = await f.waitState("web", "RUNNING");
  await f.waitEntry("web", "to be restarted for its health", (e) => e.restart_count >= 1, 30_000);
  expect(f.output).toMatch(/web RUNNING -> STOPPING \(unhealthy: http:\/\/127\.0\.0\.1:\d+\/: HTTP 200, then the body did not end within 0\.5s \(2 failed checks\)\)/);
  expect((await f.entry("web")).pid).not.toBe(up.pid);
});

test("an exec probe's background processes go with it: none piles up", async () => {
  f = new SupFixture(`[companions.web]\ncommand = "forever"\nstartsecs = 0\nhealth = { exec = "sleep 1000 & echo x >> probes; exit 0", interval = 0.2 }\n`);
  await f.start();
  await f.waitState("web", "RUNNING");
  await f.waitFile("probes", "to show 5 probes", (t) => t.split("\n").filter(Boolean).length >= 5, 20_000);
  // at most the one of a probe running right now
  await waitFor("no sleep 1000 left from earlier probes", async () => f.census().filter((p) => p.cmd.includes("sleep 1000")).length, (n) => n <= 1, 5_000);
});

test("an exec probe runs as the companion's user, in its cwd", async () => {
  expect(process.getuid?.()).toBe(0); // the e2e suite runs as root (as CI does): only root may run companions as another user
  f = new SupFixture();
  const shared = f.mkdir("shared");
  chmodSync(shared, 0o777);
  chmodSync(f.dir, 0o755);
  f.write(`[companions.web]\ncommand = "forever"\nuser = "nobody"\ncwd = "shared"\nready = { exec = "id -u > probe-uid; pwd > probe-cwd" }\n`);
  await f.start();
  await f.waitState("web", "RUNNING");
  expect(f.read("shared/probe-uid").trim()).toBe("65534");
  expect(f.read("shared/probe-cwd").trim()).toBe(shared);
});

test("a reread that adds health to a running companion starts probing it; one that adds ready keeps it ready", async () => {
  f = new SupFixture(`[companions.web]\ncommand = "forever"\nstartsecs = 0\n`);
  await f.start();
  const up = await f.waitState("web", "RUNNING");
  f.write(`[companions.web]\ncommand = "forever"\nstartsecs = 0\nready = { exec = "false" }\nhealth = { exec = "false", interval = 0.2, failures = 2 }\n`);
  const r = await f.request({ cmd: "reread" });
  expect(r.updated).toEqual(["web"]);
  const now = await f.entry("web");
  expect(now).toMatchObject({ pid: up.pid, ready: true });
  await f.waitEntry("web", "to be restarted for its health", (e) => e.restart_count >= 1, 20_000);
});

test("an exec probe runs inside the companion's tree: even a setsid'ed leftover goes when the companion stops", async () => {
  f = new SupFixture(`[companions.web]\ncommand = "forever"\nstartsecs = 0\nhealth = { exec = "setsid sleep 1001 & echo x >> probes", interval = 0.3 }\n`);
  await f.start();
  await f.waitState("web", "RUNNING");
  await f.waitFile("probes", "to show 2 probes", (t) => t.split("\n").filter(Boolean).length >= 2, 20_000);
  expect((await f.ctl("stop", "web")).code).toBe(0);
  await f.waitNoProcs((p) => p.cmd.includes("sleep 1001"), "no setsid'ed probe leftover after the stop", 10_000);
});
