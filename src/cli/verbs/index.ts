// Every verb, in the order `sup --help` lists them. Verb files are data plus a run function
// that loads what it needs when it runs: importing them all costs the hot path nothing notable.
import type { Verb } from "../verb.ts";
import { check } from "./check.ts";
import { complete } from "./complete.ts";
import { completion } from "./completion.ts";
import { events } from "./events.ts";
import { info } from "./info.ts";
import { importVerb } from "./import.ts";
import { init } from "./init.ts";
import { logs } from "./logs.ts";
import { metrics } from "./metrics.ts";
import { reread } from "./reread.ts";
import { restart } from "./restart.ts";
import { run } from "./run.ts";
import { scale } from "./scale.ts";
import { shutdown } from "./shutdown.ts";
import { signal } from "./signal.ts";
import { start } from "./start.ts";
import { status } from "./status.ts";
import { stop } from "./stop.ts";
import { top } from "./top.ts";
import { version } from "./version.ts";
import { wait } from "./wait.ts";

/** the manager verbs: `sup ctl VERB` and `sup VERB` */
export const CTL_VERBS: readonly Verb[] = [status, start, stop, restart, reread, signal, wait, logs, events, scale, info, shutdown, metrics, top];
/** sup's own verbs (ctl is the dispatcher, not in this list) */
export const TOP_VERBS: readonly Verb[] = [run, check, init, importVerb, completion, version, complete];
