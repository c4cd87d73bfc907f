// sup vs supervisord (or sup alone): scenarios A-G, alternating peers, a table of medians with
// min/max, sup/peer ratios and sup's targets, and a JSON file of every raw sample.
//
//   bun scripts/bench.ts [--quick] [--peer supervisord|none] [--only A,B,...] [--out FILE]
//                        [--sup PATH] [--base PATH] [--ns 100,1000]
//
// --ns: keep only these N in the scenarios that run over several (A, B, D).
// --sup PATH (or env SUP_BENCH_BIN): the sup executable under test (default dist/sup, built if
// missing). --base PATH (or env SUP_BENCH_BASE): a second sup executable, peer "base", run
// alternately with the first like any peer and compared with it (sup/base), e.g. last week's
// build; with --peer none it is the only comparison.
//
// Installs nothing. Every process a run starts is stopped (and, failing that, killed by its
// process group and env marker) before it ends; temp files live under one folder, removed.
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { baseBinary, basePeer, PEERS, ROOT, supBinary, supPeer, teardownAll, type Peer } from "./bench/adapters.ts";
import { cpuBusy, topCpu } from "./bench/procfs.ts";
import { plan, SCENARIOS, targets, type Ctx } from "./bench/scenarios.ts";
import { rows, table, type Sample } from "./bench/stats.ts";

const USAGE = "usage: bun scripts/bench.ts [--quick] [--peer supervisord|none] [--only A,B,...] [--out FILE] [--sup PATH] [--base PATH] [--ns N,N]";

function parse(argv: string[]) {
  const o = { quick: false, peer: "supervisord", only: null as string[] | null, out: join(ROOT, "bench-results.json"), ns: null as number[] | null, sup: process.env.SUP_BENCH_BIN || "", base: process.env.SUP_BENCH_BASE || "" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--quick") o.quick = true;
    else if (a === "--peer" || a.startsWith("--peer=")) o.peer = val();
    else if (a === "--only" || a.startsWith("--only=")) o.only = val().toUpperCase().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--out" || a.startsWith("--out=")) o.out = val();
    else if (a === "--sup" || a.startsWith("--sup=")) o.sup = val();
    else if (a === "--ns" || a.startsWith("--ns=")) {
      o.ns = val().split(",").map((x) => Number(x.trim()));
      if (!o.ns.length || o.ns.some((x) => !Number.isInteger(x) || x < 1)) throw new Error("--ns takes whole numbers, e.g. 100,1000");
    }
    else if (a === "--base" || a.startsWith("--base=")) o.base = val();
    else if (a === "-h" || a === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

let opts: ReturnType<typeof parse>;
try {
  opts = parse(process.argv.slice(2));
} catch (e) {
  console.error(`bench: ${(e as Error).message}\n${USAGE}`);
  process.exit(2);
}
const unknown = opts.only?.filter((id) => !SCENARIOS.some((s) => s.id === id)) ?? [];
if (unknown.length) {
  console.error(`bench: unknown scenario(s) ${unknown.join(",")}; known: ${SCENARIOS.map((s) => s.id).join(",")}`);
  process.exit(2);
}

// ---- dist/sup (or --sup), then a snapshot of it in the temp folder: a rebuild during the run changes nothing
if (opts.sup) supBinary.path = resolve(opts.sup);
const SUP = supBinary.path;
for (const [flag, f] of [["--sup", opts.sup], ["--base", opts.base]] as const) {
  if (f && !existsSync(f)) {
    console.error(`bench: ${flag} ${f}: no such file`);
    process.exit(2);
  }
}
if (!existsSync(SUP)) {
  console.log(`${SUP} missing: building it (bun scripts/build.ts)`);
  const b = Bun.spawnSync([process.execPath, join(ROOT, "scripts/build.ts")], { stdio: ["ignore", "inherit", "inherit"] });
  if (b.exitCode !== 0 || !existsSync(SUP)) {
    console.error("bench: build failed");
    process.exit(1);
  }
}
const tmp = mkdtempSync(join(tmpdir(), "sup-bench-"));
const binInfo = { path: SUP, built: statSync(SUP).mtime.toISOString(), bytes: statSync(SUP).size, sha256: "", gitHead: "", gitDirty: false };
const snapshot = (from: string, name: string) => {
  const snap = join(tmp, name);
  copyFileSync(from, snap);
  chmodSync(snap, 0o755);
  return { snap, sha256: new Bun.CryptoHasher("sha256").update(readFileSync(snap)).digest("hex") };
};
let baseInfo: { path: string; built: string; bytes: number; sha256: string } | null = null;
if (opts.base) {
  const b = snapshot(resolve(opts.base), "sup-base");
  baseBinary.path = b.snap;
  baseInfo = { path: resolve(opts.base), built: statSync(opts.base).mtime.toISOString(), bytes: statSync(opts.base).size, sha256: b.sha256 };
}
{
  const { snap, sha256 } = snapshot(SUP, "sup");
  supBinary.path = snap;
  binInfo.sha256 = sha256;
  const head = Bun.spawnSync(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]);
  binInfo.gitHead = head.exitCode === 0 ? head.stdout.toString().trim() : "";
  const dirty = Bun.spawnSync(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "src"]);
  binInfo.gitDirty = dirty.exitCode === 0 && dirty.stdout.toString().trim() !== "";
}

// ---- peers
const peers: Peer[] = [supPeer];
const versions: Record<string, string> = {};
const sd = supPeer.detect();
if (!sd.ok) {
  console.error(`bench: ${sd.why}`);
  rmSync(tmp, { recursive: true, force: true });
  process.exit(1);
}
versions.sup = sd.version;
if (baseInfo) {
  const bd = basePeer.detect();
  if (!bd.ok) {
    console.error(`bench: ${bd.why}`);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  }
  peers.push(basePeer);
  versions.base = bd.version;
}
if (opts.peer !== "none") {
  const peer = PEERS[opts.peer];
  if (!peer) {
    console.error(`bench: unknown peer ${opts.peer}; known: ${Object.keys(PEERS).join(", ")}, none`);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(2);
  }
  const d = peer.detect();
  if (d.ok) {
    peers.push(peer);
    versions[peer.id] = d.version;
  } else console.log(`NOTE: ${d.why}. Running sup alone.`);
}
const peerIds = peers.map((p) => p.id);

// ---- run
const p = plan(opts.quick);
if (opts.ns) {
  const keep = opts.ns;
  for (const k of ["A", "B", "D"] as const) {
    const ns = p[k].ns.filter((x) => keep.includes(x));
    p[k].ns = ns.length ? ns : keep;
  }
}
const samples: Sample[] = [];
const errors: { scenario: string; peer: string; case: string; message: string }[] = [];
const notes: { scenario: string; text: string }[] = [];
const loads: { scenario: string; loadavg: string }[] = [];
const started = new Date();
const t0 = performance.now();
const log = (m: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${m}`);

const ctx: Ctx = {
  plan: p,
  peers,
  tmp,
  add: (s) => samples.push(s),
  error: (scenario, peer, kase, e) => {
    const message = String(e);
    errors.push({ scenario, peer, case: kase, message });
    log(`ERROR ${scenario} ${kase} ${peer}: ${message.split("\n")[0]}`);
  },
  note: (scenario, text) => {
    notes.push({ scenario, text });
    log(`${scenario}: ${text}`);
  },
  log,
};

let interrupted = false;
const cleanup = async () => {
  await teardownAll();
  rmSync(tmp, { recursive: true, force: true });
};
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\nbench: ${sig}: stopping every supervisor this run started`);
    void cleanup().finally(() => process.exit(130));
  });
}

function machine(): Record<string, unknown> {
  const py = Bun.spawnSync(["python3", "--version"]);
  return {
    cpu: cpus()[0]?.model ?? "?",
    cpus: cpus().length,
    kernel: release(),
    memTotalMB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024),
    bun: Bun.version,
    python: py.exitCode === 0 ? (py.stdout.toString() + py.stderr.toString()).trim() : null,
  };
}

const info = machine();
// a benchmark on a busy machine measures the machine: say so, loudly, and keep the numbers
const busy = await cpuBusy(1000);
const hogs = busy > 0.15 ? await topCpu(1000, 5, new Set([process.pid])) : [];
info.cpuBusyAtStart = Number(busy.toFixed(3));
info.busyProcessesAtStart = hogs;
if (busy > 0.15) {
  console.log(`WARNING: the CPUs are ${(busy * 100).toFixed(0)} % busy before the benchmark starts; results will be slower and noisier. Busiest:`);
  for (const h of hogs) console.log(`  pid ${h.pid} ${h.pct.toFixed(0)} %  ${h.cmd}`);
}
log(`sup bench (${opts.quick ? "quick" : "full"}): ${Object.values(versions).join(" vs ")}; ${info.cpus} x ${info.cpu}, kernel ${info.kernel}, bun ${info.bun}`);
log(`sup under test: ${binInfo.path}, built ${binInfo.built}, git ${binInfo.gitHead}${binInfo.gitDirty ? " (src/ has uncommitted changes)" : ""}, sha256 ${binInfo.sha256.slice(0, 12)}; run from a snapshot in ${tmp}`);
if (baseInfo) log(`base (peer "base"): ${baseInfo.path}, built ${baseInfo.built}, sha256 ${baseInfo.sha256.slice(0, 12)}`);
log(`peers alternate, order flipped every rep`);

try {
  for (const s of SCENARIOS) {
    if (opts.only && !opts.only.includes(s.id)) continue;
    if (interrupted) break;
    log(`---- ${s.id}. ${s.title}`);
    const ts = performance.now();
    try {
      await s.run(ctx);
    } catch (e) {
      ctx.error(s.id, "-", "scenario", (e as Error)?.stack ?? e);
    }
    const load = `${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}, CPUs ${((await cpuBusy(500)) * 100).toFixed(0)} % busy`;
    loads.push({ scenario: s.id, loadavg: load });
    log(`---- ${s.id} done in ${((performance.now() - ts) / 1000).toFixed(1)} s (load average ${load})`);
  }
} finally {
  await cleanup();
}

// ---- report
const tlist = targets(p);
const result = rows(samples, [...peerIds, ...(samples.some((s) => s.peer === "direct") ? ["direct"] : [])], tlist);
const show = rows(samples, peerIds, tlist);
console.log("\n==== settings and method");
for (const n of notes) console.log(`${n.scenario}: ${n.text}`);
console.log(`\n==== results (${opts.quick ? "quick" : "full"} run, ${((performance.now() - t0) / 1000).toFixed(0)} s; ${Object.values(versions).join(" vs ")})`);
console.log(table(show, peerIds));
const direct = result.filter((r) => r.byPeer.direct);
if (direct.length) {
  console.log("\nF baseline, same writer with stdout straight to a file (no supervisor):");
  for (const r of direct) console.log(`  ${r.case}: ${r.metric} ${r.byPeer.direct!.median.toFixed(r.unit === "MB/s" ? 0 : 1)} ${r.unit} (n=${r.byPeer.direct!.n})`);
}
const checked = show.filter((r) => r.target);
console.log(`\nsup targets: ${checked.filter((r) => r.met).length} met, ${checked.filter((r) => r.met === false).length} not met, ${checked.filter((r) => r.met === null).length} not measured`);
for (const r of checked) console.log(`  ${r.met === null ? "?      " : r.met ? "met    " : "NOT MET"} ${r.scenario} ${r.case} ${r.metric}: ${r.byPeer.sup ? `${r.byPeer.sup.median.toPrecision(3)} ${r.unit}` : "-"} (target ${r.target})`);
console.log(`load average (1, 5, 15 min) after each scenario: ${loads.map((l) => `${l.scenario} ${l.loadavg}`).join("; ")}`);
if (errors.length) {
  console.log(`\n${errors.length} error(s):`);
  for (const e of errors) console.log(`  ${e.scenario} ${e.case} ${e.peer}: ${e.message.split("\n").slice(0, 3).join(" | ")}`);
}

const out = resolve(opts.out);
writeFileSync(
  out,
  JSON.stringify(
    {
      started: started.toISOString(),
      seconds: (performance.now() - t0) / 1000,
      quick: opts.quick,
      versions,
      supBinary: binInfo,
      baseBinary: baseInfo,
      machine: info,
      plan: p,
      notes,
      loads,
      errors,
      summary: result.map((r) => ({ ...r })),
      samples,
    },
    null,
    1,
  ) + "\n",
);
console.log(`\nraw results: ${out}`);
process.exit(errors.length ? 1 : 0);
