// The deployment examples, run with the built binary the way their platforms would run them, on
// examples/sup.deploy.toml (its web.cjs and worker.sh beside it; socket and port moved into a
// temp folder):
//   - sup.service without systemd: a Unix datagram socket stands in for systemd's NOTIFY_SOCKET
//     (with WATCHDOG_USEC, as WatchdogSec= sets it); ExecStartPre, ExecStart, ExecReload and
//     KillSignal exactly as the unit says: READY=1 once the companions are up, RELOADING=1 then
//     READY=1 around `systemctl reload`, STOPPING=1 and exit 0 within graceful_timeout at stop.
//   - k8s.yaml's and the Dockerfiles' probes: liveness (`sup info`) 0 while sup answers, also
//     with a companion down, 3 once sup is gone; readiness / HEALTHCHECK (`sup status`) 0 only
//     while every companion is up, 4 while one is restarting; SIGTERM: exit 0 within the budget.
import { afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { DEPLOY_CONFIG, EXAMPLES, IMAGE_CONFIG, K8S, loadDeployConfig, parseUnit, UNIT, UNIT_CONFIG, dockerfileStages, DOCKERFILES } from "../../scripts/verify-examples.ts";
import { SUP, SupFixture } from "../helpers/sup.ts";
import { waitFor } from "../helpers/wait.ts";

// real processes (node, sh, sup) on a slow shared machine
setDefaultTimeout(90_000);

const DEPLOY_SOCKET = "/run/sup/sup.sock";

let f: SupFixture | null = null;
let listener: Subprocess | null = null;
afterEach(async () => {
  if (listener) {
    listener.kill("SIGKILL");
    await listener.exited;
    listener = null;
  }
  await f?.cleanup();
  f = null;
});

function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

/** the example app in a temp folder: sup.deploy.toml (socket and port moved there), web.cjs, worker.sh */
function exampleApp(): SupFixture {
  const fx = new SupFixture();
  const port = freePort();
  const toml = readFileSync(DEPLOY_CONFIG, "utf8");
  expect(toml).toContain(`socket = "${DEPLOY_SOCKET}"`);
  fx.write(toml.replace(`socket = "${DEPLOY_SOCKET}"`, `socket = "${fx.socket}"`).replaceAll("8080", String(port)));
  for (const file of ["web.cjs", "worker.sh"]) copyFileSync(join(EXAMPLES, file), fx.path(file));
  chmodSync(fx.path("worker.sh"), 0o755);
  return fx;
}

/** an example's command line, with the deployed paths mapped onto this test's folder and binary */
function mapped(fx: SupFixture, argv: string[], mainPid?: number): string[] {
  return argv.map((a, i) => {
    if (i === 0 && (a === "sup" || a.endsWith("/sup"))) return SUP;
    if (a === IMAGE_CONFIG || a === UNIT_CONFIG) return fx.config;
    if (a === DEPLOY_SOCKET) return fx.socket;
    if (a === "$MAINPID" && mainPid !== undefined) return String(mainPid);
    return a;
  });
}

async function exec(argv: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(argv, { env, stdio: ["ignore", "pipe", "pipe"] });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

// systemd's side of sd_notify: a datagram socket, each datagram one JSON line in OUT
const LISTENER = `
import json, os, signal, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(out, "a").close()
while True:
    data = s.recv(65536).decode(errors="replace")
    with open(out, "a") as f:
        f.write(json.dumps({"t": time.time(), "raw": data}) + "\\n")
`;

interface Datagram {
  t: number;
  raw: string;
  fields: Record<string, string>;
}

function datagrams(file: string): Datagram[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const d = JSON.parse(l) as { t: number; raw: string };
      const fields = Object.fromEntries(d.raw.split("\n").filter((x) => x.includes("=")).map((x) => [x.slice(0, x.indexOf("=")), x.slice(x.indexOf("=") + 1)]));
      return { ...d, fields };
    });
}

/** index of the first datagram at or after `from` with key=value */
function waitDatagram(file: string, key: string, value: string, from = 0, timeoutMs = 30_000): Promise<number> {
  return waitFor(
    `a datagram ${key}=${value} (from #${from})`,
    () => datagrams(file).findIndex((d, i) => i >= from && d.fields[key] === value),
    (i) => i >= 0,
    timeoutMs,
  );
}

test("sup.service without systemd: ExecStartPre, READY=1, WATCHDOG=1, ExecReload -> RELOADING=1 then READY=1, SIGTERM -> STOPPING=1 and exit 0 within graceful_timeout", async () => {
  const loaded = await loadDeployConfig();
  if ("problems" in loaded) throw new Error(loaded.problems.join("; "));
  const svc = parseUnit(readFileSync(UNIT, "utf8")).Service!;
  expect(svc.Type).toEqual(["notify"]);
  f = exampleApp();
  const fx = f;
  const sock = fx.path("notify.sock");
  const out = fx.path("notify.out");
  fx.write(LISTENER, "listen.py");
  listener = Bun.spawn(["python3", fx.path("listen.py"), sock, out], { stdio: ["ignore", "ignore", "inherit"] });
  await waitFor("the notify listener to bind", () => existsSync(out), (x) => x, 10_000);
  // what systemd gives a Type=notify service (WatchdogSec=2s: WATCHDOG_USEC, WATCHDOG_PID unset)
  const env = fx.env({ NOTIFY_SOCKET: sock, WATCHDOG_USEC: "2000000" });

  for (const line of svc.ExecStartPre ?? []) {
    const r = await exec(mapped(fx, line.split(/\s+/)), env);
    expect(r.code, `ExecStartPre=${line}: ${r.out}`).toBe(0);
  }
  const start = mapped(fx, svc.ExecStart![0]!.split(/\s+/));
  const t0 = performance.now();
  await fx.start({ argv: start, env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: "2000000" } });
  const mainPid = fx.proc!.pid;

  // READY=1 once web answers on its port (ready = { http }) and worker is up: systemd's start
  // job ends here, and `sup status` agrees
  const ready = await waitDatagram(out, "READY", "1");
  const whenReady = datagrams(out)[ready]!;
  expect(whenReady.fields.STATUS).toBe("2 running");
  expect((await fx.status()).map((e) => [e.name, e.state])).toEqual([
    ["web", "RUNNING"],
    ["worker", "RUNNING"],
  ]);
  expect((await fx.ctl("status")).code).toBe(0);
  expect(datagrams(out).filter((d) => d.fields.READY === "1").length).toBe(1);
  const pids = await fx.pids();

  // WatchdogSec: WATCHDOG=1 at half the period
  const w1 = await waitDatagram(out, "WATCHDOG", "1", 0, 10_000);
  await waitDatagram(out, "WATCHDOG", "1", w1 + 1, 10_000);

  // systemctl reload: ExecReload= lines in order (sup check, then kill -HUP $MAINPID)
  const mark = datagrams(out).length;
  for (const line of svc.ExecReload!) {
    const r = await exec(mapped(fx, line.split(/\s+/), mainPid), env);
    expect(r.code, `ExecReload=${line}: ${r.out}`).toBe(0);
  }
  const reloading = await waitDatagram(out, "RELOADING", "1", mark);
  expect(datagrams(out)[reloading]!.fields.MONOTONIC_USEC).toMatch(/^\d+$/);
  const readyAgain = await waitDatagram(out, "READY", "1", reloading);
  expect(readyAgain).toBeGreaterThanOrEqual(reloading);
  // nothing changed in the file: the companions kept their processes
  expect(await fx.pids()).toEqual(pids);

  // systemctl stop: KillSignal (SIGTERM) to the main pid only (KillMode=mixed)
  expect(svc.KillMode).toEqual(["mixed"]);
  const stopMark = datagrams(out).length;
  const t1 = performance.now();
  fx.signal((svc.KillSignal?.[0] ?? "SIGTERM") as NodeJS.Signals);
  expect(await fx.waitExit(loaded.budgetMs + 5_000)).toBe(0);
  const stopMs = performance.now() - t1;
  expect(stopMs).toBeLessThan(loaded.budgetMs);
  await waitDatagram(out, "STOPPING", "1", stopMark, 5_000);
  expect(fx.output).toContain("worker: SIGTERM, finishing the current job");
  expect(fx.output).toContain("web: SIGTERM, closing");
  // KillMode=mixed leaves the rest to sup: nothing of the unit is left for systemd's SIGKILL
  await fx.waitNoProcs();
  console.log(`sup.service: READY=1 ${(whenReady.t * 1000 - (performance.timeOrigin + t0)).toFixed(0)} ms after ExecStart, stop ${stopMs.toFixed(0)} ms (budget ${loaded.budgetMs} ms)`);
});

test("k8s.yaml and Dockerfile probes: liveness 0 while sup answers (also with a companion down), 3 once it is gone; readiness/HEALTHCHECK 0 only while all is up, 4 while a companion restarts", async () => {
  const loaded = await loadDeployConfig();
  if ("problems" in loaded) throw new Error(loaded.problems.join("; "));
  const docs = Bun.YAML.parse(readFileSync(K8S, "utf8")) as any[];
  const container = docs.find((d) => d.kind === "Deployment").spec.template.spec.containers[0];
  const healthcheck = JSON.parse(
    dockerfileStages(readFileSync(DOCKERFILES.glibc, "utf8"))
      .stages.at(-1)!
      .instructions.find((i) => i.op === "HEALTHCHECK")!
      .args.replace(/^.*?\bCMD\s+/, ""),
  ) as string[];
  f = exampleApp();
  const fx = f;
  const env = fx.env(Object.fromEntries((container.env ?? []).map((e: { name: string; value: string }) => [e.name, e.value])));
  const liveness = mapped(fx, container.livenessProbe.exec.command);
  const readiness = mapped(fx, container.readinessProbe.exec.command);
  const health = mapped(fx, healthcheck);
  const code = async (argv: string[]) => (await exec(argv, env)).code;

  await fx.start({ argv: mapped(fx, container.command) });
  // ready once web answers (its http ready check) and worker has been up a second
  await waitFor("readiness to pass", () => code(readiness), (c) => c === 0, 30_000, 200);
  expect(await code(liveness)).toBe(0);
  expect(await code(health)).toBe(0);

  // a companion crashes: readiness fails (4) until sup has it back, liveness never does. Both
  // probes run in a loop from before the crash to after the recovery, so that the window while
  // web restarts (BACKOFF, then STARTING until it answers http) is seen however short it is.
  const seen: { probe: string; code: number; out: string }[] = [];
  let probing = true;
  const loop = (async () => {
    while (probing) {
      const [r, l] = await Promise.all([exec(readiness, env), exec(liveness, env)]);
      seen.push({ probe: "readiness", ...r }, { probe: "liveness", ...l });
    }
  })();
  const web = (await fx.entry("web")).pid!;
  process.kill(web, "SIGKILL");
  await waitFor("web to be restarted and ready", () => fx.entry("web"), (e) => e.restart_count === 1 && e.state === "RUNNING" && e.pid !== web, 30_000, 50);
  await waitFor("readiness to pass again", () => seen.at(-2), (r) => r?.code === 0, 30_000, 50);
  probing = false;
  await loop;
  const failed = seen.filter((r) => r.probe === "readiness" && r.code !== 0);
  expect(failed.length).toBeGreaterThan(0);
  for (const r of failed) expect(r.code, r.out).toBe(4);
  expect(failed.some((r) => /web\s+(BACKOFF|STARTING)/.test(r.out)), failed.map((r) => r.out).join("\n")).toBe(true);
  expect(seen.filter((r) => r.probe === "liveness" && r.code !== 0)).toEqual([]);

  // the kubelet's (or docker stop's) SIGTERM: exit 0 well within terminationGracePeriodSeconds
  const grace = docs.find((d) => d.kind === "Deployment").spec.template.spec.terminationGracePeriodSeconds * 1000;
  const t0 = performance.now();
  fx.signal("SIGTERM");
  expect(await fx.waitExit(grace)).toBe(0);
  expect(performance.now() - t0).toBeLessThan(loaded.budgetMs);
  // sup is gone: liveness says so (3: cannot reach), and so do readiness and HEALTHCHECK
  expect(await code(liveness)).toBe(3);
  expect(await code(readiness)).toBe(3);
  await fx.waitNoProcs();
});
