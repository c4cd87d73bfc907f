// The one place for how sup is compiled: the flags (shared by build.ts and release.ts), the
// release targets, and the build facts baked in with --define (read by src/version.ts).
// Flags: see ../shared/notes/bun-platform.md and README "Release binaries" for the figures:
// --bytecode needs esm for top-level await; the autoload flags keep a .env or bunfig.toml in the
// operator's folder from leaking into every companion.
import { readFileSync } from "node:fs";

export const ROOT = new URL("..", import.meta.url).pathname;
export const ENTRY = `${ROOT}src/cli/main.ts`;

/** the release targets; `bun-<target>` is Bun's --target name */
export const TARGETS = ["linux-x64", "linux-x64-musl", "linux-arm64", "linux-arm64-musl"] as const;
export type Target = (typeof TARGETS)[number];

export const FLAGS = [
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

/** what `sup version` reports besides the version (the shape of SUP_BUILD in src/version.ts) */
export interface BuildInfo {
  commit: string;
  built: string;
  target: string;
}

function git(...args: string[]): string | null {
  try {
    const r = Bun.spawnSync(["git", "-C", ROOT, ...args], { stdout: "pipe", stderr: "ignore" });
    return r.exitCode === 0 ? r.stdout.toString().trim() : null;
  } catch {
    return null; // no git at all
  }
}

/** short sha, "+dirty" when tracked files differ from HEAD, "unknown" outside git */
export function gitCommit(): string {
  const sha = git("rev-parse", "--short", "HEAD");
  if (!sha) return "unknown";
  return git("status", "--porcelain", "--untracked-files=no") ? `${sha}+dirty` : sha;
}

/** now in UTC, to the second (SOURCE_DATE_EPOCH, when set, for a reproducible build) */
export function buildDate(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  const d = Number.isFinite(epoch) && process.env.SOURCE_DATE_EPOCH ? new Date(epoch * 1000) : new Date();
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** the target this Bun compiles for without --target: its arch, and musl when it runs on musl */
export function hostTarget(): string {
  const arch = process.arch === "arm64" ? "arm64" : process.arch;
  let musl = false;
  try {
    musl = readFileSync("/proc/self/maps", "utf8").includes("ld-musl-");
  } catch {}
  return `${process.platform}-${arch}${musl ? "-musl" : ""}`;
}

export function version(): string {
  return JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")).version;
}

/** the bun build arguments (after `bun build`); no target: the host's runtime */
export function compileArgs(outfile: string, build: BuildInfo, target?: Target): string[] {
  return [
    ...FLAGS,
    ...(target ? [`--target=bun-${target}`] : []),
    "--define",
    `SUP_BUILD=${JSON.stringify(build)}`,
    ENTRY,
    "--outfile",
    outfile,
  ];
}

/** compile one binary; the error is bun's own output (e.g. a runtime that could not be downloaded) */
export async function compile(outfile: string, build: BuildInfo, target?: Target): Promise<{ ok: true } | { ok: false; output: string }> {
  const p = Bun.spawn([process.execPath, "build", ...compileArgs(outfile, build, target)], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return code === 0 ? { ok: true } : { ok: false, output: (stderr + stdout).trim() };
}
