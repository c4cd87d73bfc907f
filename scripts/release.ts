// `bun run release`: the release binaries, from this one machine, into dist/release/:
// sup-<version>-linux-x64, -linux-x64-musl, -linux-arm64, -linux-arm64-musl and SHA256SUMS
// (`cd dist/release && sha256sum -c SHA256SUMS`). Bun downloads the cross targets' runtimes from
// the npm registry on first use and caches them (~/.bun/install/cache, BUN_INSTALL_CACHE_DIR).
//   bun scripts/release.ts [--only linux-x64,linux-arm64] [--out DIR]
// Check them with scripts/verify-release.sh (readelf, qemu-aarch64, a musl loader).
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildDate, compile, gitCommit, ROOT, TARGETS, version, type Target } from "./compile.ts";

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (!v || v.startsWith("--")) fail(`${name} needs a value`);
  return v;
}

function fail(msg: string): never {
  console.error(`release: ${msg}`);
  process.exit(1);
}

const only = flag("--only");
const out = flag("--out") ?? join(ROOT, "dist/release");
const targets = only ? only.split(",").map((t) => t.trim()) : [...TARGETS];
for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) fail(`unknown target '${t}' (known: ${TARGETS.join(", ")})`);

const ver = version();
const commit = gitCommit();
const built = buildDate();
mkdirSync(out, { recursive: true });
// a previous release's files would sit beside SHA256SUMS unlisted
for (const f of readdirSync(out)) if (f === "SHA256SUMS" || /^sup-.+-linux-/.test(f)) rmSync(join(out, f), { force: true });

console.log(`sup ${ver}, commit ${commit}, built ${built} -> ${out}`);
const sums: string[] = [];
for (const target of targets as Target[]) {
  const name = `sup-${ver}-${target}`;
  const file = join(out, name);
  const t0 = performance.now();
  const r = await compile(file, { commit, built, target }, target);
  if (!r.ok) {
    const download = /download|fetch|registry|network|connect|ENOTFOUND|ECONNREFUSED|404|tarball/i.test(r.output);
    console.error(r.output);
    fail(
      download
        ? `could not get Bun's runtime for bun-${target} (bun build downloads it from the npm registry; is the registry reachable?). No SHA256SUMS written.`
        : `bun build --target=bun-${target} failed (above). No SHA256SUMS written.`,
    );
  }
  const hex = new Bun.CryptoHasher("sha256").update(await Bun.file(file).arrayBuffer()).digest("hex");
  sums.push(`${hex}  ${name}\n`);
  const mib = (statSync(file).size / 2 ** 20).toFixed(1);
  console.log(`  ${name}  ${mib} MiB  ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
await Bun.write(join(out, "SHA256SUMS"), sums.join(""));
console.log(`  SHA256SUMS (${sums.length} files)`);
