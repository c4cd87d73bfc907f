// `sup ctl info` (= `sup info`): who and where this sup is.
import { request } from "../../control/client.ts";
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, JSON_FLAG, type Verb } from "../verb.ts";

export const info: Verb = {
  name: "info",
  summary: "show sup itself: version, pids, manager restarts, config, socket, containment",
  synopsis: "",
  flags: [JSON_FLAG],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl info --json",
  ctl: true,
  positionals: "none",
  async run(p, ctx) {
    if (p.args.length) throw new UsageError("info takes no arguments");
    const [r] = await request(ctx.socket(), [{ cmd: "info" }]);
    if (!r!.ok) return refused(r!);
    if (p.flags.json) out(JSON.stringify(r, null, 2) + "\n");
    else for (const [k, v] of Object.entries(r!)) if (k !== "ok") out(`${k}: ${v ?? "-"}\n`);
    return 0;
  },
};
