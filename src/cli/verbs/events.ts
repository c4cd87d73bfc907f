// `sup ctl events` (= `sup events`): every state change and sup's own lifecycle, as they happen.
import { stream } from "../../control/client.ts";
import type { Json } from "../../control/protocol.ts";
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, JSON_FLAG, type Verb } from "../verb.ts";

export const events: Verb = {
  name: "events",
  summary: "print every state change as it happens, until interrupted",
  synopsis: "",
  flags: [JSON_FLAG],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl events --json",
  ctl: true,
  positionals: "none",
  async run(p, ctx) {
    if (p.args.length) throw new UsageError("events takes no arguments");
    const first = await stream(ctx.socket(), { cmd: "events" }, (m: Json) => {
      if (p.flags.json) out(JSON.stringify(m) + "\n");
      else if (m.event) out(`${m.ts} sup ${m.event}\n`);
      else out(`${m.ts} ${m.name} ${m.from} -> ${m.to}${m.reason ? ` (${m.reason})` : ""}${m.pid ? ` pid ${m.pid}` : ""}\n`);
    });
    return first.ok ? 0 : refused(first);
  },
};
