// `sup ctl stop` (= `sup stop`): stop companions and wait until each is down.
import { LIFECYCLE_ENV, LIFECYCLE_EXITS, LIFECYCLE_FLAGS, LIFECYCLE_SYNOPSIS, lifecycle } from "../lifecycle.ts";
import type { Verb } from "../verb.ts";

export const stop: Verb = {
  name: "stop",
  summary: "stop companions and wait until each is down",
  synopsis: LIFECYCLE_SYNOPSIS,
  flags: LIFECYCLE_FLAGS,
  exits: LIFECYCLE_EXITS,
  env: LIFECYCLE_ENV,
  example: "sup ctl stop --timeout 30 all",
  notes: "Prints one line per name, in the order given (`web: stopped`, `web: TIMEOUT (still STOPPING after 30s)`,\n`nope: ERROR (unknown companion nope)`); all names are handled at once.",
  ctl: true,
  positionals: "names",
  run: (p, ctx) => lifecycle("stop", p, ctx),
};
