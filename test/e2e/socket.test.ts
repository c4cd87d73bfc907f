// The control socket's path: mode 0600, stale sockets replaced, a live sup or a non-socket at
// the path refused with a message naming it, before any companion starts.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { killAll } from "../helpers/census.ts";
import { SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes on a slow shared machine: bun resets the default (5 s) for every file
setDefaultTimeout(60_000);

let f: SupFixture;
afterEach(async () => {
  await f?.cleanup();
});

const CONF = `
[defaults]
startsecs = 0
stop_timeout = 5
[companions.a]
command = "forever"
`;

const isSocket = (p: string) => {
  try {
    return lstatSync(p).isSocket();
  } catch {
    return false;
  }
};

test("the socket is mode 0600, at the configured path relative to the config folder", async () => {
  f = new SupFixture(`
[sup]
socket = "run/ctl.sock"
[companions.a]
command = "forever"
startsecs = 0
`);
  f.mkdir("run");
  await f.start({ waitReady: false });
  const sock = f.path("run/ctl.sock");
  await waitFor("the socket to exist", () => isSocket(sock), (v) => v);
  // sup binds it under umask 077 (born 0700: never open to others), then chmods it to 0600
  // before it serves: a look in between sees 0700, so the exact mode is checked once it answers
  expect(statSync(sock).mode & 0o077).toBe(0);
  const r = await waitFor("ctl status through the configured socket", () => f.ctl("status"), (x) => x.code === 0);
  expect(r.stdout).toContain("a");
  expect(statSync(sock).mode & 0o777).toBe(0o600);
});

test("a stale socket made by binding and closing is replaced", async () => {
  f = new SupFixture(CONF);
  // a process that binds the path, then dies without unlinking it
  const holder = Bun.spawn([process.execPath, "-e", `Bun.listen({ unix: ${JSON.stringify(f.socket)}, socket: { data() {} } }); console.log("bound"); setInterval(() => {}, 1000);`], {
    env: f.env(),
    stdio: ["ignore", "pipe", "inherit"],
  });
  const reader = holder.stdout.getReader();
  const { value } = await reader.read();
  expect(new TextDecoder().decode(value)).toContain("bound");
  holder.kill("SIGKILL");
  await holder.exited;
  expect(isSocket(f.socket)).toBe(true);

  await f.start();
  expect(statSync(f.socket).mode & 0o777).toBe(0o600);
  await f.waitState("a", "RUNNING");
});

test("a stale socket left by a killed sup is replaced", async () => {
  f = new SupFixture(CONF);
  await f.start();
  await f.waitState("a", "RUNNING");
  const manager = f.managerPid();
  expect(manager).toBeNumber();
  // kill the manager (it cannot unlink its socket) and the arbiter (before it respawns one)
  process.kill(manager!, "SIGKILL");
  f.proc!.kill("SIGKILL");
  await f.waitExit();
  killAll(f.mark); // companions a SIGKILLed sup could not stop
  await waitFor("every process of the killed sup to be gone", () => f.census(), (l) => l.length === 0);
  expect(isSocket(f.socket)).toBe(true);

  await f.start();
  await f.waitState("a", "RUNNING");
  expect(statSync(f.socket).mode & 0o777).toBe(0o600);
});

test("a live socket of another sup: the second `sup run` exits non-zero naming the path; the first keeps running", async () => {
  f = new SupFixture(CONF);
  await f.start();
  const a = await f.waitState("a", "RUNNING");
  const second = await f.sup(["run", "-c", f.config]);
  expect(second.code).not.toBe(0);
  expect(second.stdout + second.stderr).toContain(f.socket);
  // the first still serves, with the same companion, and nothing ran twice
  expect((await f.request({ cmd: "version" })).ok).toBe(true);
  expect((await f.entry("a")).pid).toBe(a.pid);
  expect(f.census().filter((p) => p.cmd.includes("forever") || p.cmd.startsWith("sleep"))).toHaveLength(1);
  expect(f.census().filter((p) => p.cmd.includes("__manager"))).toHaveLength(1);
  expect(isSocket(f.socket)).toBe(true);
  expect(f.exitCode).toBeNull();
});

test("a regular file at the socket path: error naming the path, file left alone, nothing started", async () => {
  f = new SupFixture(CONF);
  writeFileSync(f.socket, "precious\n");
  const r = await f.sup(["run", "-c", f.config]);
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBe(2); // 2 is for an invalid config
  expect(r.stdout + r.stderr).toContain(f.socket);
  expect(readFileSync(f.socket, "utf8")).toBe("precious\n");
  expect(f.census()).toEqual([]);
});

test("a folder at the socket path: error naming the path, folder left alone", async () => {
  f = new SupFixture(CONF);
  mkdirSync(f.socket);
  const r = await f.sup(["run", "-c", f.config]);
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toContain(f.socket);
  expect(statSync(f.socket).isDirectory()).toBe(true);
  expect(f.census()).toEqual([]);
});

test("a socket path whose folder does not exist: non-zero exit naming the path, nothing left running", async () => {
  f = new SupFixture(`
[sup]
socket = "no-such-folder/ctl.sock"
${CONF}`);
  const r = await f.sup(["run", "-c", f.config]);
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toContain(f.path("no-such-folder/ctl.sock"));
  await f.waitNoProcs();
});
