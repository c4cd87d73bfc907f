// Builds the one executable: dist/sup. Flags: see ../shared/notes/bun-platform.md
// (--bytecode needs esm for top-level await; the autoload flags keep a .env or bunfig.toml in
// the operator's folder from leaking into every companion).
import { $ } from "bun";

const root = new URL("..", import.meta.url).pathname;
await $`bun build --compile --minify --bytecode --format=esm --no-compile-autoload-dotenv --no-compile-autoload-bunfig ${root}src/cli/main.ts --outfile ${root}dist/sup`.quiet();
console.log(`built ${root}dist/sup`);
