// Checks that the deployment examples work together (contract §13: their timings agree with
// graceful_timeout): examples/Dockerfile, Dockerfile.alpine, k8s.yaml and sup.service against
// examples/sup.deploy.toml, scripts/release.ts's file names and sup's real verbs and flags.
//   npx bun scripts/verify-examples.ts [--bin PATH]     (PATH: $SUP_TEST_BIN, else dist/sup)
// Static checks (also run by test/unit/examples.test.ts, in-process, without a binary); then,
// with the built binary: `sup check` of the config, every sup command line of the examples with
// --help (flags parsed strictly), the Dockerfiles' binary-picking step against the real
// dist/release (when `npm run release` made it), and `systemd-analyze verify` of the unit (when
// systemd-analyze is installed: apt-get install -y systemd). Exit 0 when nothing failed.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse as parseFlags, UsageError } from "../src/cli/args.ts";
import { CTL_FLAGS, HELP } from "../src/cli/verb.ts";
import { CTL_VERBS, TOP_VERBS } from "../src/cli/verbs/index.ts";
import { loadConfig } from "../src/config/load.ts";
import { machineProblems } from "../src/config/machine.ts";
import type { SupConfig } from "../src/config/schema.ts";
import { gracefulBudgetMs } from "../src/config/validate.ts";
import { ROOT, TARGETS, version } from "./compile.ts";

export const EXAMPLES = join(ROOT, "examples");
/** the config every deployment example runs, and where each puts it */
export const DEPLOY_CONFIG = join(EXAMPLES, "sup.deploy.toml");
export const IMAGE_CONFIG = "/app/sup.toml";
export const UNIT_CONFIG = "/etc/sup/sup.toml";
export const DOCKERFILES = { glibc: join(EXAMPLES, "Dockerfile"), musl: join(EXAMPLES, "Dockerfile.alpine") } as const;
export const K8S = join(EXAMPLES, "k8s.yaml");
export const UNIT = join(EXAMPLES, "sup.service");
/** Docker's platform architectures -> the release targets' (scripts/compile.ts TARGETS) */
export const ARCHES = { amd64: "x64", arm64: "arm64" } as const;

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  skipped?: boolean;
}

// ---------------------------------------------------------------------------------------------
// small parsers

export interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** a Dockerfile's instructions: continuation lines joined, comments dropped, keyword upper-case */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  let cur: { text: string; line: number } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*#/.test(raw) || (!cur && raw.trim() === "")) continue; // comments, also inside a continued instruction
    const continued = /\\\s*$/.test(raw);
    const part = continued ? raw.replace(/\\\s*$/, "") : raw;
    cur = cur ? { text: `${cur.text} ${part.trim()}`, line: cur.line } : { text: part.trim(), line: i + 1 };
    if (!continued) {
      const m = /^(\S+)\s*(.*)$/s.exec(cur.text)!;
      out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: cur.line });
      cur = null;
    }
  }
  return out;
}

/** `--flag=value ...` options in front of an instruction's arguments, and the rest */
function options(args: string): { opts: Record<string, string>; rest: string } {
  const opts: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
    opts[m[1]!] = m[2] ?? "";
    rest = rest.slice(m[0].length);
  }
  return { opts, rest };
}

/** `${NAME}` and `$NAME` from `vars` (Docker's substitution in COPY, FROM, ...) */
export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a, b) => vars[a ?? b] ?? all);
}

export interface Stage {
  from: string;
  name: string | null;
  /** FROM --platform=... */
  platform: string | null;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export function dockerfileStages(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of parseDockerfile(text)) {
    if (ins.op === "FROM") {
      const { opts, rest } = options(`${ins.args} `);
      const [image, as, name] = rest.trim().split(/\s+/);
      stages.push({ from: image!, name: as?.toUpperCase() === "AS" ? name! : null, platform: opts.platform ?? null, instructions: [] });
    } else if (!stages.length) {
      if (ins.op === "ARG") {
        const [k, v] = ins.args.split("=", 2);
        globalArgs[k!] = v ?? "";
      }
    } else stages.at(-1)!.instructions.push(ins);
  }
  return { globalArgs, stages };
}

/** a JSON-array (exec form) command: ["sup", "run", ...] */
function execForm(s: string): string[] | null {
  try {
    const v = JSON.parse(s);
    return Array.isArray(v) && v.every((x) => typeof x === "string") ? v : null;
  } catch {
    return null;
  }
}

/** a systemd unit: section -> key -> values (a key may repeat: ExecReload=, ExecStartPre=) */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = "";
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = pending + raw.trim();
    pending = "";
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.endsWith("\\")) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const k = line.slice(0, eq).trim();
    ((out[section] ??= {})[k] ??= []).push(line.slice(eq + 1).trim());
  }
  return out;
}

/** systemd's time span ("25s", "1min 30s", "90", "500ms") in ms; null when it cannot tell */
export function timespanMs(s: string): number | null {
  const units: Record<string, number> = { us: 0.001, ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000, hr: 3_600_000 };
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
  let m: RegExpExecArray | null;
  let used = 0;
  while ((m = re.exec(s))) {
    const u = units[m[2]!];
    if (u === undefined) return null;
    total += Number(m[1]) * u;
    used = re.lastIndex;
  }
  return used === s.length && used > 0 ? total : null;
}

/** the unit's Exec line without systemd's prefixes (-, @, +, !, :) */
function execArgv(line: string): string[] {
  return line.replace(/^[-@+!:]+/, "").trim().split(/\s+/);
}

// ---------------------------------------------------------------------------------------------
// sup command lines

/** true when argv[0] is sup (a bare `sup` on the PATH, or a path ending in /sup) */
function isSup(argv0: string | undefined): boolean {
  return argv0 === "sup" || !!argv0?.endsWith("/sup");
}

/**
 * How the real `sup` would take this argv (without running it): the verb, its parsed flags, or
 * the usage error it would print. Mirrors src/cli/dispatch.ts and ctl.ts: a ctl verb takes its
 * own flags plus -c/-s/-h, sup's own verbs theirs plus -h; unknown flags are errors.
 */
export function parseSupArgv(argv: string[]): { verb: string; ctl: boolean; flags: Record<string, string | boolean | undefined>; args: string[] } | { error: string } {
  if (!isSup(argv[0])) return { error: `not a sup command: ${argv[0]}` };
  let rest = argv.slice(1);
  if (rest[0] === "ctl") rest = rest.slice(1);
  // the verb is the first token that is not a flag nor the value of -c/-s
  let i = 0;
  while (i < rest.length && rest[i]!.startsWith("-")) i += ["-c", "-s", "--config", "--socket"].includes(rest[i]!) ? 2 : 1;
  const verb = rest[i];
  if (verb === undefined) return { error: "no verb" };
  const tokens = [...rest.slice(0, i), ...rest.slice(i + 1)];
  const ctlVerb = CTL_VERBS.find((v) => v.name === verb);
  const topVerb = TOP_VERBS.find((v) => v.name === verb && !v.hidden);
  const def = ctlVerb ?? topVerb;
  if (!def) return { error: `unknown verb '${verb}'` };
  try {
    const p = parseFlags(tokens, ctlVerb ? [...def.flags, ...CTL_FLAGS] : [...def.flags, HELP]);
    if (def.positionals === "none" && p.args.length) return { error: `${verb} takes no argument ('${p.args[0]}')` };
    return { verb, ctl: !!ctlVerb, flags: p.flags, args: p.args };
  } catch (e) {
    if (e instanceof UsageError) return { error: `sup ${verb}: ${e.message}` };
    throw e;
  }
}

/** the exit codes a verb documents (its --help) */
function exitCodes(verb: string): number[] {
  return [...CTL_VERBS, ...TOP_VERBS].find((v) => v.name === verb)?.exits.map(([c]) => c) ?? [];
}

// ---------------------------------------------------------------------------------------------
// the checks

class Checks {
  readonly list: Check[] = [];
  add(name: string, ok: boolean, detail: string): void {
    this.list.push({ name, ok, detail });
  }
  skip(name: string, why: string): void {
    this.list.push({ name, ok: true, skipped: true, detail: why });
  }
}

/** every sup command line the examples contain, with where it is */
export interface SupCommand {
  where: string;
  argv: string[];
}

export interface Loaded {
  config: SupConfig;
  budgetMs: number;
  /** the slowest chain of stop_timeouts (what graceful_timeout must cover) */
  chainMs: number;
}

export async function loadDeployConfig(): Promise<Loaded | { problems: string[] }> {
  const r = await loadConfig(DEPLOY_CONFIG);
  if (!r.ok) return { problems: r.problems };
  const budgetMs = gracefulBudgetMs(r.config);
  const chainMs = gracefulBudgetMs({ ...r.config, gracefulTimeoutMs: null }) - 5000;
  return { config: r.config, budgetMs, chainMs };
}

/** the examples' texts, by default read from examples/ (tests pass altered copies) */
export interface Texts {
  glibc: string;
  musl: string;
  k8s: string;
  unit: string;
}

export function readTexts(): Texts {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
  return { glibc: read(DOCKERFILES.glibc), musl: read(DOCKERFILES.musl), k8s: read(K8S), unit: read(UNIT) };
}

/**
 * Everything that needs no binary and no network: the files parse, name what exists and agree
 * with each other and with the config's stop budget. Also returns every sup command line found,
 * for the binary checks.
 */
export async function staticChecks(over: Partial<Texts> = {}): Promise<{ checks: Check[]; commands: SupCommand[] }> {
  const texts = { ...readTexts(), ...over };
  const c = new Checks();
  const commands: SupCommand[] = [];
  const s = (ms: number) => `${ms / 1000} s`;

  // --- the config
  const loaded = await loadDeployConfig();
  if ("problems" in loaded) {
    c.add("sup.deploy.toml is valid", false, loaded.problems.join("; "));
    return { checks: c.list, commands };
  }
  const { config, budgetMs, chainMs } = loaded;
  c.add("sup.deploy.toml is valid", true, `${config.companions.map((x) => x.name).join(", ")}; stop budget ${s(budgetMs)}`);
  // the socket's folder (/run/sup) is made by the deployment itself (RuntimeDirectory=, the image's mkdir)
  const machine = machineProblems(config, (name, key) => ["companions", name, key]).filter((p) => p.path[0] !== "sup");
  c.add("sup.deploy.toml: every companion can start here (as `sup check`)", machine.length === 0, machine.map((p) => `${p.path.join(".")}: ${p.message}`).join("; ") || "ok");
  c.add(
    "sup.deploy.toml: graceful_timeout is set and covers the slowest stop chain",
    config.gracefulTimeoutMs !== null && config.gracefulTimeoutMs >= chainMs,
    `graceful_timeout ${config.gracefulTimeoutMs === null ? "not set" : s(config.gracefulTimeoutMs)}, slowest chain of stop_timeouts ${s(chainMs)}`,
  );
  const socket = config.socket;
  const socketDir = dirname(socket);
  c.add("sup.deploy.toml: the socket path is absolute, under /run", socket.startsWith("/run/"), socket);

  // the numbers its header comment states
  const tomlText = readFileSync(DEPLOY_CONFIG, "utf8");
  const stated = (re: RegExp) => Number(re.exec(tomlText)?.[1] ?? NaN);

  // --- the Dockerfiles
  const ver = version();
  const releaseNames = TARGETS.map((t) => `sup-${ver}-${t}`);
  const fake = fakeRelease(ver);
  try {
  for (const [libc, file] of Object.entries(DOCKERFILES)) {
    const label = file.slice(EXAMPLES.length + 1);
    const text = texts[libc as keyof typeof DOCKERFILES];
    if (!text) {
      c.add(`${label} exists`, false, file);
      continue;
    }
    const df = dockerfileStages(text);
    c.add(`${label}: ARG SUP_VERSION default is package.json's version`, df.globalArgs.SUP_VERSION === ver, `SUP_VERSION=${df.globalArgs.SUP_VERSION}, package.json ${ver}`);
    const pick = df.stages.find((st) => st.name !== null && df.stages.some((o) => o.instructions.some((i) => i.op === "COPY" && options(`${i.args} `).opts.from === st.name)));
    const final = df.stages.at(-1)!;
    const vars = { ...df.globalArgs };
    // the binary-picking stage: what it copies from dist/release, how it maps TARGETARCH
    if (!pick) c.add(`${label}: a stage picks the release binary`, false, "no stage is copied --from");
    else {
      c.add(`${label}: the picking stage runs on the build platform (no emulation)`, pick.platform === "$BUILDPLATFORM", `FROM --platform=${pick.platform}`);
      const copies = pick.instructions.filter((i) => i.op === "COPY").flatMap((i) => options(`${i.args} `).rest.trim().split(/\s+/).slice(0, -1));
      const sources = copies.map((x) => substitute(x, vars));
      const globs = sources.map((x) => new Bun.Glob(x));
      const matched = releaseNames.filter((n) => globs.some((g) => g.match(`dist/release/${n}`)));
      c.add(
        `${label}: copies release.ts's files (SHA256SUMS and sup-${ver}-linux-*)`,
        sources.includes("dist/release/SHA256SUMS") && matched.length === releaseNames.length,
        `COPY ${sources.join(" ")} matches ${matched.join(", ") || "no release file"}`,
      );
      const run = pick.instructions.find((i) => i.op === "RUN");
      for (const [dockerArch, target] of Object.entries(ARCHES)) {
        const want = `sup-${ver}-linux-${target}${libc === "musl" ? "-musl" : ""}`;
        const r: Pick = run ? simulatePick(run.args, { SUP_VERSION: ver, TARGETARCH: dockerArch }, fake) : { ok: false, detail: "no RUN in the picking stage" };
        c.add(`${label}: TARGETARCH=${dockerArch} installs ${want} (checksum checked)`, r.ok && r.picked === want, r.ok ? `picked ${r.picked}` : r.detail);
      }
      const bad = run ? simulatePick(run.args, { SUP_VERSION: ver, TARGETARCH: "riscv64" }, fake) : null;
      c.add(`${label}: an unsupported TARGETARCH fails the build with a reason`, !!bad && !bad.ok && /riscv64/.test(bad.detail), bad?.detail.trim() ?? "");
      // a binary that is not the one SHA256SUMS lists (a stale or partial download) fails too
      const corrupt = fakeRelease(ver);
      for (const t of TARGETS) writeFileSync(join(corrupt, `sup-${ver}-${t}`), "not the listed bytes\n");
      const tampered = run ? simulatePick(run.args, { SUP_VERSION: ver, TARGETARCH: "amd64" }, corrupt) : null;
      rmSync(corrupt, { recursive: true, force: true });
      c.add(`${label}: a binary that does not match SHA256SUMS fails the build`, !!tampered && !tampered.ok && /FAILED/.test(tampered.detail), tampered?.detail.trim() ?? "");
      c.add(`${label}: glibc/musl base matches the binary`, libc === "musl" ? /alpine/.test(final.from) : !/alpine/.test(final.from), `FROM ${final.from}`);
    }
    // the final stage: the config and the example files it copies exist, ENTRYPOINT runs it
    const copied = final.instructions.filter((i) => i.op === "COPY" && !options(`${i.args} `).opts.from);
    const pairs = copied.map((i) => {
      const parts = options(`${i.args} `).rest.trim().split(/\s+/);
      return { sources: parts.slice(0, -1), dest: parts.at(-1)! };
    });
    const missing = pairs.flatMap((p) => p.sources).filter((src) => !existsSync(join(ROOT, src)));
    c.add(`${label}: every file it copies exists`, missing.length === 0 && pairs.length > 0, missing.length ? `missing: ${missing.join(", ")}` : pairs.map((p) => `${p.sources.join(" ")} -> ${p.dest}`).join("; "));
    const configCopy = pairs.find((p) => p.sources.includes("examples/sup.deploy.toml"));
    c.add(`${label}: puts examples/sup.deploy.toml at ${IMAGE_CONFIG}`, configCopy?.dest === IMAGE_CONFIG, `${configCopy?.dest ?? "not copied"}`);
    const workdir = final.instructions.filter((i) => i.op === "WORKDIR").at(-1)?.args;
    const beside = pairs.filter((p) => p.sources.some((x) => /web\.cjs|worker\.sh/.test(x)));
    c.add(`${label}: the companions' files sit beside the config (${dirname(IMAGE_CONFIG)})`, beside.length > 0 && beside.every((p) => p.dest.replace(/\/$/, "") === dirname(IMAGE_CONFIG)) && workdir === dirname(IMAGE_CONFIG), beside.map((p) => p.dest).join(", "));
    const entry = execForm(final.instructions.find((i) => i.op === "ENTRYPOINT")?.args ?? "");
    c.add(`${label}: ENTRYPOINT is sup run -c ${IMAGE_CONFIG} (exec form: sup is PID 1)`, !!entry && isSup(entry[0]) && entry[1] === "run" && entry.includes(IMAGE_CONFIG), JSON.stringify(entry));
    if (entry) commands.push({ where: `${label} ENTRYPOINT`, argv: entry });
    const stop = final.instructions.find((i) => i.op === "STOPSIGNAL")?.args ?? "SIGTERM";
    c.add(`${label}: the stop signal is a graceful stop for sup`, ["SIGTERM", "SIGINT", "TERM", "INT", "15", "2"].includes(stop), stop);
    const runs = final.instructions.filter((i) => i.op === "RUN").map((i) => i.args).join(" ; ");
    c.add(`${label}: creates the socket's folder ${socketDir}`, new RegExp(`install -d\\b[^;&]*\\s${socketDir}(\\s|$)`).test(runs), runs);
    c.add(`${label}: runs sup check on the config at build time`, runs.includes(`sup check -c ${IMAGE_CONFIG}`), runs);
    if (libc === "musl") c.add(`${label}: installs libstdc++ and libgcc (Bun's musl build needs them)`, /apk add\b.*\blibstdc\+\+/.test(runs) && /apk add\b.*\blibgcc\b/.test(runs), runs);
    const hc = final.instructions.find((i) => i.op === "HEALTHCHECK");
    if (hc) {
      const argv = execForm(hc.args.replace(/^.*?\bCMD\s+/, ""));
      c.add(`${label}: HEALTHCHECK asks sup on its socket`, !!argv && argv.includes("-s") && argv[argv.indexOf("-s") + 1] === socket, JSON.stringify(argv));
      if (argv) commands.push({ where: `${label} HEALTHCHECK`, argv });
    }
    const stopTimeout = Number(/--stop-timeout (\d+)/.exec(text)?.[1] ?? NaN);
    c.add(`${label}: the docker run --stop-timeout it names > stop budget`, stopTimeout * 1000 > budgetMs, `--stop-timeout ${stopTimeout} vs ${s(budgetMs)}`);
  }
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
  const workerMode = statSync(join(EXAMPLES, "worker.sh")).mode;
  c.add("examples/worker.sh is executable (COPY keeps the mode)", (workerMode & 0o111) !== 0, (workerMode & 0o777).toString(8));

  // --- Kubernetes
  let docs: Record<string, any>[] = [];
  try {
    const v = Bun.YAML.parse(texts.k8s) as unknown;
    docs = (Array.isArray(v) ? v : [v]) as Record<string, any>[];
  } catch (e) {
    c.add("k8s.yaml parses", false, (e as Error).message);
  }
  c.add("k8s.yaml: every document has apiVersion and kind", docs.length > 0 && docs.every((d) => typeof d?.apiVersion === "string" && typeof d?.kind === "string"), docs.map((d) => `${d?.apiVersion} ${d?.kind}`).join(", "));
  const deploy = docs.find((d) => d?.kind === "Deployment");
  const pod = deploy?.spec?.template?.spec;
  const containers = (pod?.containers ?? []) as Record<string, any>[];
  const container = containers.find((x) => isSup((x.command ?? [])[0]));
  c.add("k8s.yaml: a Deployment's container runs sup run -c /app/sup.toml", !!container && container.command[1] === "run" && container.command.includes(IMAGE_CONFIG), JSON.stringify(container?.command));
  if (container) commands.push({ where: "k8s.yaml command", argv: container.command });
  const selector = deploy?.spec?.selector?.matchLabels ?? {};
  const labels = deploy?.spec?.template?.metadata?.labels ?? {};
  c.add("k8s.yaml: the selector matches the pod's labels", Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v), JSON.stringify(selector));
  const grace = pod?.terminationGracePeriodSeconds;
  c.add("k8s.yaml: terminationGracePeriodSeconds > stop budget", typeof grace === "number" && grace * 1000 > budgetMs, `${grace} s vs ${s(budgetMs)}`);
  const ctlTimeout = Number((container?.env ?? []).find((e: any) => e.name === "SUP_CTL_TIMEOUT_MS")?.value ?? 10_000);
  for (const kind of ["livenessProbe", "readinessProbe"] as const) {
    const probe = container?.[kind];
    const argv = probe?.exec?.command as string[] | undefined;
    if (!argv) {
      c.add(`k8s.yaml: ${kind} is an exec of sup`, false, "none");
      continue;
    }
    commands.push({ where: `k8s.yaml ${kind}`, argv });
    const p = parseSupArgv(argv);
    if ("error" in p) {
      c.add(`k8s.yaml: ${kind} is a valid sup command`, false, p.error);
      continue;
    }
    c.add(`k8s.yaml: ${kind} asks sup on its socket (-s ${socket})`, p.ctl && p.flags.socket === socket, JSON.stringify(argv));
    const codes = exitCodes(p.verb);
    if (kind === "livenessProbe") c.add("k8s.yaml: liveness fails only when sup is unreachable (its verb has no exit 4)", codes.includes(3) && !codes.includes(4), `sup ${p.verb}: exits ${codes.join(", ")}`);
    else c.add("k8s.yaml: readiness fails when a companion is not as wanted (exit 4)", codes.includes(4), `sup ${p.verb}: exits ${codes.join(", ")}`);
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    c.add(`k8s.yaml: ${kind}: sup gives up (SUP_CTL_TIMEOUT_MS) before the kubelet does (timeoutSeconds)`, ctlTimeout < timeout, `${ctlTimeout} ms < ${timeout} ms`);
  }

  // --- systemd
  const unit = parseUnit(texts.unit);
  const svc = unit.Service ?? {};
  const one = (k: string) => svc[k]?.at(-1);
  c.add("sup.service: Type=notify", one("Type") === "notify", `Type=${one("Type")}`);
  c.add("sup.service: NotifyAccess=main (the arbiter is the main pid and sends)", one("NotifyAccess") === "main", `NotifyAccess=${one("NotifyAccess")}`);
  const start = execArgv(one("ExecStart") ?? "");
  c.add(`sup.service: ExecStart is sup run -c ${UNIT_CONFIG}`, svc.ExecStart?.length === 1 && isSup(start[0]) && start[1] === "run" && start.includes(UNIT_CONFIG), one("ExecStart") ?? "none");
  commands.push({ where: "sup.service ExecStart", argv: start });
  for (const k of ["ExecStartPre", "ExecReload"]) {
    for (const line of svc[k] ?? []) {
      const argv = execArgv(line);
      if (isSup(argv[0])) commands.push({ where: `sup.service ${k}`, argv });
    }
  }
  const reload = (svc.ExecReload ?? []).map(execArgv);
  c.add("sup.service: ExecReload ends with kill -HUP $MAINPID (SIGHUP = reload)", reload.at(-1)?.join(" ") === "/bin/kill -HUP $MAINPID", (svc.ExecReload ?? []).join(" ; "));
  c.add("sup.service: KillMode=mixed (SIGTERM to sup only; sup stops its companions in order)", one("KillMode") === "mixed", `KillMode=${one("KillMode")}`);
  const stopMs = timespanMs(one("TimeoutStopSec") ?? "");
  c.add("sup.service: TimeoutStopSec > stop budget", stopMs !== null && stopMs > budgetMs, `TimeoutStopSec=${one("TimeoutStopSec")} vs ${s(budgetMs)}`);
  c.add("sup.service: Restart=on-failure", one("Restart") === "on-failure", `Restart=${one("Restart")}`);
  c.add(`sup.service: RuntimeDirectory makes the socket's folder ${socketDir}`, `/run/${one("RuntimeDirectory")}` === socketDir, `RuntimeDirectory=${one("RuntimeDirectory")}`);

  // --- the numbers stated in sup.deploy.toml's header are the files' own
  const dockerStop = Number(/--stop-timeout (\d+)/.exec(texts.glibc)?.[1] ?? NaN);
  const statedOk =
    stated(/graceful_timeout\s+(\d+) s/) * 1000 === config.gracefulTimeoutMs &&
    stated(/--stop-timeout (\d+)/) === dockerStop &&
    stated(/terminationGracePeriodSeconds: (\d+)/) === grace &&
    stated(/TimeoutStopSec=(\d+)s/) * 1000 === stopMs;
  c.add("sup.deploy.toml: the timings its header states are the files' own", statedOk, `graceful_timeout ${config.gracefulTimeoutMs} ms, docker ${dockerStop} s, k8s ${grace} s, systemd ${stopMs} ms`);

  // --- every sup command line is one sup takes
  for (const cmd of commands) {
    const p = parseSupArgv(cmd.argv);
    c.add(`${cmd.where}: valid sup command line`, !("error" in p), "error" in p ? p.error : cmd.argv.join(" "));
  }
  return { checks: c.list, commands };
}

// ---------------------------------------------------------------------------------------------
// the Dockerfiles' binary-picking step, run with sh on a folder of release files

/** a dist/release lookalike: empty files with release.ts's names and a SHA256SUMS in its format */
export function fakeRelease(ver: string): string {
  const dir = mkdtempSync(join(tmpdir(), "sup-fake-release-"));
  const sums: string[] = [];
  for (const t of TARGETS) {
    const name = `sup-${ver}-${t}`;
    const body = `fake ${name}\n`;
    writeFileSync(join(dir, name), body);
    sums.push(`${new Bun.CryptoHasher("sha256").update(body).digest("hex")}  ${name}\n`);
  }
  writeFileSync(join(dir, "SHA256SUMS"), sums.join(""));
  return dir;
}

/**
 * Run a picking stage's RUN script (as Docker would: ARGs in the environment, /bin/sh -c) with
 * /release and /sup mapped to temp paths. Which release file ended up as /sup, or why it failed.
 */
export interface Pick {
  ok: boolean;
  /** the release file that ended up as /sup */
  picked?: string;
  /** the script's output, or why it failed */
  detail: string;
}

export function simulatePick(script: string, args: Record<string, string>, releaseDir: string): Pick {
  const work = mkdtempSync(join(tmpdir(), "sup-pick-"));
  try {
    symlinkSync(releaseDir, join(work, "release"));
    const out = join(work, "sup");
    const mapped = script.replace(/(^|[\s;])\/release\b/g, `$1${work}/release`).replace(/(\s)\/sup(\s*;?\s*)$/, `$1${out}$2`);
    const r = Bun.spawnSync(["/bin/sh", "-c", mapped], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...args }, stdout: "pipe", stderr: "pipe" });
    const output = `${r.stdout.toString()}${r.stderr.toString()}`;
    if (r.exitCode !== 0) return { ok: false, detail: output || `exit ${r.exitCode}` };
    if (!existsSync(out)) return { ok: false, detail: `nothing installed at /sup; ${output}` };
    if ((statSync(out).mode & 0o111) === 0) return { ok: false, detail: "/sup is not executable" };
    const body = readFileSync(out);
    const picked = TARGETS.map((t) => `sup-${args.SUP_VERSION}-${t}`).find((n) => existsSync(join(releaseDir, n)) && readFileSync(join(releaseDir, n)).equals(body));
    return picked ? { ok: true, picked, detail: output } : { ok: false, detail: "/sup is none of the release files" };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// with the built binary

export async function binaryChecks(bin: string, commands: SupCommand[]): Promise<Check[]> {
  const c = new Checks();
  const run = (argv: string[]) => {
    const r = Bun.spawnSync([bin, ...argv], { stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
    return { code: r.exitCode, out: `${r.stdout.toString()}${r.stderr.toString()}`.trim() };
  };
  const check = run(["check", "-c", DEPLOY_CONFIG]);
  c.add("sup check -c examples/sup.deploy.toml exits 0", check.code === 0, check.out);
  for (const cmd of commands) {
    const r = run([...cmd.argv.slice(1), "--help"]);
    c.add(`${cmd.where}: the real sup takes it (${cmd.argv.slice(1).join(" ")} --help exits 0)`, r.code === 0 && /^usage: /.test(r.out), r.code === 0 ? r.out.split("\n")[0]! : r.out);
  }
  // the picking step against the real release files, when there are any
  const release = join(ROOT, "dist/release");
  const ver = version();
  if (!existsSync(join(release, "SHA256SUMS"))) c.skip("Dockerfiles pick from the real dist/release", "no dist/release/SHA256SUMS: run `npm run release` first");
  else {
    for (const [libc, file] of Object.entries(DOCKERFILES)) {
      const df = dockerfileStages(readFileSync(file, "utf8"));
      const run = df.stages.find((st) => st.platform === "$BUILDPLATFORM")?.instructions.find((i) => i.op === "RUN");
      for (const [dockerArch, target] of Object.entries(ARCHES)) {
        const want = `sup-${ver}-linux-${target}${libc === "musl" ? "-musl" : ""}`;
        const name = `${file.slice(EXAMPLES.length + 1)}: TARGETARCH=${dockerArch} installs the real ${want}`;
        if (!existsSync(join(release, want))) {
          c.skip(name, `dist/release/${want} missing (npm run release --only ...?)`);
          continue;
        }
        const r: Pick = run ? simulatePick(run.args, { SUP_VERSION: ver, TARGETARCH: dockerArch }, release) : { ok: false, detail: "no RUN" };
        c.add(name, r.ok && r.picked === want, r.ok ? `picked ${r.picked}, sha256sum -c: OK` : r.detail);
      }
    }
  }
  return c.list;
}

/** `systemd-analyze verify` of the unit, with its /usr/local/bin/sup pointing at `bin` */
export function systemdChecks(bin: string): Check[] {
  const c = new Checks();
  const name = "systemd-analyze verify examples/sup.service";
  const which = Bun.spawnSync(["sh", "-c", "command -v systemd-analyze"], { stdout: "pipe" });
  if (which.exitCode !== 0) {
    c.skip(name, "systemd-analyze is not installed (apt-get install -y systemd)");
    return c.list;
  }
  // verify refuses a unit whose ExecStart= binary does not exist: point it at the built one (the
  // rest is the file as shipped). It needs no running systemd (not PID 1 here).
  const dir = mkdtempSync(join(tmpdir(), "sup-unit-"));
  try {
    const file = join(dir, "sup.service");
    writeFileSync(file, readFileSync(UNIT, "utf8").replaceAll("/usr/local/bin/sup", bin));
    chmodSync(file, 0o644);
    const r = Bun.spawnSync(["systemd-analyze", "verify", file], { stdout: "pipe", stderr: "pipe", cwd: dir });
    // verify exits 0 even for a setting it ignores ("Failed to parse ..., ignoring"): any line
    // about the unit counts as a failure
    const out = `${r.stdout.toString()}${r.stderr.toString()}`.trim();
    const aboutUnit = out.split("\n").filter((l) => l.includes("sup.service"));
    const version = Bun.spawnSync(["systemd-analyze", "--version"], { stdout: "pipe" }).stdout.toString().split("\n")[0];
    c.add(name, r.exitCode === 0 && aboutUnit.length === 0, `${version}: exit ${r.exitCode}${out ? `, said: ${out}` : ", said nothing"}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return c.list;
}

// ---------------------------------------------------------------------------------------------

if (import.meta.main) {
  const i = process.argv.indexOf("--bin");
  const bin = i > 0 ? process.argv[i + 1]! : process.env.SUP_TEST_BIN || join(ROOT, "dist/sup");
  const { checks, commands } = await staticChecks();
  const all = [...checks];
  if (existsSync(bin)) {
    all.push(...(await binaryChecks(bin, commands)));
    all.push(...systemdChecks(bin));
  } else {
    all.push({ name: "checks with the built binary", ok: false, detail: `${bin} does not exist: npm run build (or --bin PATH)` });
  }
  for (const ch of all) console.log(`${ch.skipped ? "skip" : ch.ok ? "ok  " : "FAIL"}  ${ch.name}${ch.detail ? `\n        ${ch.detail.split("\n").join("\n        ")}` : ""}`);
  const failed = all.filter((x) => !x.ok);
  const skipped = all.filter((x) => x.skipped);
  console.log(`\n${all.length - failed.length - skipped.length} ok, ${failed.length} failed, ${skipped.length} skipped`);
  process.exit(failed.length ? 1 : 0);
}
