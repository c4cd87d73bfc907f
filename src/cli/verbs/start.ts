// `sup ctl start` (= `sup start`): start companions and wait until each is up (RUNNING, and ready when it has a check).
import { LIFECYCLE_ENV, LIFECYCLE_EXITS, LIFECYCLE_FLAGS, LIFECYCLE_SYNOPSIS, lifecycle } from "../lifecycle.ts";
import type { Verb } from "../verb.ts";

export const start: Verb = {
  name: "start",
  summary: "start companions and wait until each is up (RUNNING, and ready when it has a check)",
  synopsis: LIFECYCLE_SYNOPSIS,
  flags: LIFECYCLE_FLAGS,
  exits: LIFECYCLE_EXITS,
  env: LIFECYCLE_ENV,
  example: "sup ctl start web worker",
  notes: "Prints one line per name, in the order given (`web: started`, `typo: ERROR (command not found: pyhton3)`,\n`web: TIMEOUT (still STARTING after 6s)`); all names are handled at once.",
  ctl: true,
  positionals: "names",
  run: (p, ctx) => lifecycle("start", p, ctx),
};
