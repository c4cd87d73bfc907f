// `sup ctl scale` (= `sup scale`): run N instances of a companion.
import { request } from "../../control/client.ts";
import { UsageError } from "../args.ts";
import { out } from "../output.ts";
import { refused } from "../replies.ts";
import { CTL_ENV, CTL_EXITS, type Verb } from "../verb.ts";

export const scale: Verb = {
  name: "scale",
  summary: "run N instances of a companion (new ones start, the highest numbers stop)",
  synopsis: "NAME N",
  flags: [],
  exits: CTL_EXITS,
  env: CTL_ENV,
  example: "sup ctl scale worker 4",
  ctl: true,
  positionals: "name-then-count",
  async run(p, ctx) {
    const [name, count, ...extra] = p.args;
    if (!name || count === undefined || extra.length) throw new UsageError("scale needs NAME N");
    if (!/^\d+$/.test(count)) throw new UsageError(`N must be a whole number, not '${count}'`);
    const [r] = await request(ctx.socket(), [{ cmd: "scale", name, instances: Number(count) }]);
    if (!r!.ok) return refused(r!);
    for (const k of ["added", "removed"] as const) out(`${k}: ${((r![k] as string[] | undefined) ?? []).join(", ") || "-"}\n`);
    return 0;
  },
};
