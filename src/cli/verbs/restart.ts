// `sup ctl restart` (= `sup restart`): restart companions (stop, then start) and wait until each is up again.
import { LIFECYCLE_ENV, LIFECYCLE_EXITS, LIFECYCLE_FLAGS, LIFECYCLE_SYNOPSIS, lifecycle } from "../lifecycle.ts";
import type { Verb } from "../verb.ts";

export const restart: Verb = {
  name: "restart",
  summary: "restart companions (stop, then start) and wait until each is up again",
  synopsis: LIFECYCLE_SYNOPSIS,
  flags: LIFECYCLE_FLAGS,
  exits: LIFECYCLE_EXITS,
  env: LIFECYCLE_ENV,
  example: "sup ctl restart web",
  notes: "Prints one line per name, in the order given (`web: restarted`, `typo: ERROR (command not found: pyhton3)`,\n`web: TIMEOUT (still STARTING after 6s)`); all names are handled at once.",
  ctl: true,
  positionals: "names",
  run: (p, ctx) => lifecycle("restart", p, ctx),
};
