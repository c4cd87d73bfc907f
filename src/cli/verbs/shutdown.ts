// `sup ctl shutdown` (= `sup shutdown`): stop sup as SIGTERM would (--fast: as SIGQUIT).
import { request } from "../../control/client.ts";
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, type Verb } from "../verb.ts";

export const shutdown: Verb = {
  name: "shutdown",
  summary: "stop every companion and sup itself (as SIGTERM; --fast: as SIGQUIT)",
  synopsis: "",
  flags: [{ name: "fast", type: "boolean", description: "SIGKILL every companion's tree at once instead of a graceful stop" }],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl shutdown",
  notes: "Returns once the manager has accepted the request; sup then stops in the background.",
  ctl: true,
  positionals: "none",
  async run(p, ctx) {
    if (p.args.length) throw new UsageError("shutdown takes no arguments");
    const [r] = await request(ctx.socket(), [{ cmd: "shutdown", fast: p.flags.fast === true }]);
    if (!r!.ok) return refused(r!);
    out(`${r!.message}\n`);
    return 0;
  },
};
