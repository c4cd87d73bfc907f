// `sup ctl metrics` (= `sup metrics`): the Prometheus text exposition.
import { request } from "../../control/client.ts";
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, type Verb } from "../verb.ts";

export const metrics: Verb = {
  name: "metrics",
  summary: "print the metrics in the Prometheus text format",
  synopsis: "",
  flags: [],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl metrics",
  ctl: true,
  positionals: "none",
  async run(p, ctx) {
    if (p.args.length) throw new UsageError("metrics takes no arguments");
    const [r] = await request(ctx.socket(), [{ cmd: "metrics" }]);
    if (!r!.ok) return refused(r!);
    const text = String(r!.text ?? "");
    out(text.endsWith("\n") || !text ? text : text + "\n");
    return 0;
  },
};
