// `sup ctl reread` (= `sup reread`): apply the config file again; prints what changed.
import { request } from "../../control/client.ts";
import { UsageError } from "../args.ts";
import { err, out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, EXIT_OK, EXIT_UNREACHABLE, type Verb } from "../verb.ts";

export const reread: Verb = {
  name: "reread",
  summary: "read the config file again and apply it: added start, removed stop, changed restart",
  synopsis: "[--dry-run]",
  flags: [{ name: "dry-run", type: "boolean", description: "only print what it would do; change nothing" }],
  exits: [EXIT_OK, [1, "applied in part (what was not applied is printed), or refused"], [2, "the new config is invalid (nothing changed), or a usage error"], EXIT_UNREACHABLE],
  env: CTL_ENV,
  example: "sup ctl reread --dry-run",
  ctl: true,
  positionals: "none",
  async run(p, ctx) {
    if (p.args.length) throw new UsageError("reread takes no arguments");
    const dryRun = p.flags["dry-run"] === true;
    const [r] = await request(ctx.socket(), [{ cmd: "reread", ...(dryRun ? { dry_run: true } : {}) }]);
    if (!r!.ok) return refused(r!);
    if (dryRun && r!.dry_run !== true) {
      err("sup: this manager does not know --dry-run: it applied the reread\n");
      return 1;
    }
    if (dryRun) out("dry run: nothing changed; a reread would do this:\n");
    for (const k of ["added", "removed", "restarted", "updated", "unchanged"] as const) {
      const list = r![k] as string[];
      out(`${k}: ${list.length ? list.join(", ") : "-"}\n`);
    }
    // applied in part (e.g. a socket path that cannot be taken): say so, and fail loudly
    const warnings = (r!.warnings as string[] | undefined) ?? [];
    for (const w of warnings) err(`sup: not applied: ${w}\n`);
    return warnings.length ? 1 : 0;
  },
};
