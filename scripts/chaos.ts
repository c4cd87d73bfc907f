// The chaos scenarios at full size against dist/sup (build it first: `bun scripts/build.ts`).
//
//   bun scripts/chaos.ts [--rounds 50] [--clients 1000] [--only NAME[,NAME]]
//
// Prints one row of figures per scenario and exits non-zero when any scenario found a
// violation of the contract. Also runs two checks the CI suite leaves out because sup fails
// them today (marked "known"): concurrent clients above the connection cap, a config file
// truncated to empty under a reload, a stop signal
// while the arbiter stops a dead manager's companions, HUP/USR1 while the manager starts up,
// SIGTERM in the first milliseconds after launch.
import { existsSync } from "node:fs";
import { SUP } from "../test/helpers/sup.ts";
import { arbiterKills, badConfigReload, binaryRemoved, ChaosViolation, cleanupAll, clientFlood, fdExhaustion, managerKills, overCapRefusal, sigtermAtLaunch, signalStorms, startupSignalStorm, stopWhileReaping } from "../test/chaos/scenarios.ts";

function usage(msg?: string): never {
  if (msg) process.stderr.write(`chaos: ${msg}\n`);
  process.stderr.write("usage: bun scripts/chaos.ts [--rounds N] [--clients N] [--only NAME[,NAME...]] [--verbose]\n");
  process.exit(2);
}

const args = process.argv.slice(2);
let rounds = 50;
let clients = 1000;
let only: string[] | null = null;
let verbose = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  const num = () => {
    const v = Number(args[++i]);
    if (!Number.isInteger(v) || v < 1) usage(`${a} wants a positive integer`);
    return v;
  };
  if (a === "--rounds") rounds = num();
  else if (a === "--clients") clients = num();
  else if (a === "--only") only = (args[++i] ?? usage("--only wants names")).split(",");
  else if (a === "--verbose" || a === "-v") verbose = true;
  else usage(`unknown argument ${a}`);
}
if (!existsSync(SUP)) usage(`${SUP} is missing: run bun scripts/build.ts first`);

const progress = verbose ? (l: string) => process.stderr.write(`  ${l}\n`) : undefined;
const scale = clients / 1000;
const atLeast = (n: number, min: number) => Math.max(min, Math.round(n));

interface Row {
  name: string;
  /** a failure sup is known to have today (left out of the CI suite) */
  known?: string;
  run: () => Promise<object>;
}

const rows: Row[] = [
  { name: "manager-kill", run: () => managerKills({ rounds, startupKillEvery: 5, respawnMinMs: 50, respawnMaxMs: 200, recoveryLimitMs: 20_000, progress }) },
  { name: "arbiter-kill", run: () => arbiterKills({ rounds: atLeast(rounds / 5, 2), limitMs: 2_000 }) },
  { name: "signal-storm", run: () => signalStorms({ signals: 100, startupTerms: 6, doubleTerms: 4 }) },
  {
    name: "client-flood",
    run: () =>
      clientFlood({
        clients,
        silent: atLeast(200 * scale, 1),
        halfLine: atLeast(200 * scale, 1),
        nonReaders: atLeast(50 * scale, 1),
        pipelined: 60_000,
        randomLines: atLeast(10_000 * scale, 100),
        randomConns: 5,
        overlong: 2,
        durationMs: 10_000,
        settleMs: 5_000,
        progress,
      }),
  },
  { name: "over-cap-refusal", run: () => overCapRefusal({ extra: atLeast(200 * scale, 10) }) },
  { name: "bad-config", run: () => badConfigReload({ cases: ["deleted", "broken", "unknown-key", "bad-value"] }) },
  { name: "bad-config-empty", run: () => badConfigReload({ cases: ["empty"] }) },
  { name: "stop-while-reaping", run: () => stopWhileReaping({ rounds: 3 }) },
  { name: "signal-storm-at-start", run: () => startupSignalStorm({ rounds: 4 }) },
  // a signal inside Bun's own runtime start (the first ~10 ms here) meets the default action
  // before any JS runs; nothing has started then. From the first line of JS on, sup holds it.
  { name: "sigterm-at-launch", run: () => sigtermAtLaunch({ delaysMs: [15, 20, 30, 50] }) },
  { name: "fd-exhaustion", run: () => fdExhaustion({ rounds: atLeast(rounds / 5, 3), companions: 100, nofile: 64, startupKillEvery: 2 }) },
  { name: "binary-removed", run: () => binaryRemoved({ rounds: atLeast(rounds / 10, 2) }) },
];

const fmt = (v: unknown): string => {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(1);
  if (v && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${k}:${fmt(x)}`).join(" ")}}`;
  return String(v);
};

const results: { name: string; ok: boolean; ms: number; figures: string; error?: string; known?: string }[] = [];
let interrupted = false;
process.on("SIGINT", () => {
  interrupted = true;
  void cleanupAll().finally(() => process.exit(130));
});

for (const row of rows) {
  if (only && !only.includes(row.name)) continue;
  if (interrupted) break;
  process.stderr.write(`chaos: ${row.name} ...\n`);
  const t0 = performance.now();
  try {
    const figures = await row.run();
    results.push({ name: row.name, ok: true, ms: performance.now() - t0, figures: Object.entries(figures).map(([k, v]) => `${k}=${fmt(v)}`).join(" ") });
  } catch (e) {
    const msg = e instanceof ChaosViolation ? e.message : `crashed: ${(e as Error)?.stack ?? e}`;
    results.push({ name: row.name, ok: false, ms: performance.now() - t0, figures: "", error: msg, known: row.known });
  }
  const left = await cleanupAll();
  if (left.length) results.at(-1)!.error = `${results.at(-1)!.error ?? ""} leftovers after cleanup: ${left.map((p) => `${p.pid} ${p.cmd}`).join("; ")}`;
}

const w = Math.max(...results.map((r) => r.name.length), 8);
console.log(`\n${"scenario".padEnd(w)}  result  time    figures`);
console.log(`${"-".repeat(w)}  ------  ------  -------`);
for (const r of results) {
  console.log(`${r.name.padEnd(w)}  ${(r.ok ? "ok" : "FAIL").padEnd(6)}  ${`${(r.ms / 1000).toFixed(1)}s`.padEnd(6)}  ${r.ok ? r.figures : r.error}`);
  if (!r.ok && r.known) console.log(`${"".padEnd(w)}  known:  ${r.known}`);
}
const failed = results.filter((r) => !r.ok);
console.log(`\n${results.length - failed.length} ok, ${failed.length} failed (rounds ${rounds}, clients ${clients})`);
process.exit(failed.length ? 1 : 0);
