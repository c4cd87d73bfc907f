// Builds the one executable: dist/sup (or --outfile PATH). Flags: see
// ../shared/notes/bun-platform.md (--bytecode needs esm for top-level await; the autoload flags
// keep a .env or bunfig.toml in the operator's folder from leaking into every companion).
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
const i = process.argv.indexOf("--outfile");
const out = i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : `${root}dist/sup`;
await $`${process.execPath} build --compile --minify --bytecode --format=esm --no-compile-autoload-dotenv --no-compile-autoload-bunfig ${root}src/cli/main.ts --outfile ${out}`.quiet();
console.log(`built ${out}`);
