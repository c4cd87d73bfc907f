// Builds the one executable for this machine: dist/sup (or --outfile PATH). The flags and the
// baked-in build facts (commit, date, target) come from compile.ts, shared with release.ts.
import { buildDate, compile, gitCommit, hostTarget, ROOT } from "./compile.ts";

const i = process.argv.indexOf("--outfile");
const out = i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : `${ROOT}dist/sup`;
const r = await compile(out, { commit: gitCommit(), built: buildDate(), target: hostTarget() });
if (!r.ok) {
  console.error(r.output);
  process.exit(1);
}
console.log(`built ${out}`);
