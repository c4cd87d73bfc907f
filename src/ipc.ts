// What the manager tells the arbiter over Bun's IPC channel, and the manager exit codes that
// mean "do not respawn". Shared vocabulary of the two processes; no code.
import type { OwnedGroup } from "./manager/host.ts";

export type ToArbiter =
  | { t: "groups"; add: OwnedGroup[]; del: number[] } // companion process groups born / gone
  | { t: "stopping"; code: number } // a shutdown began; the manager will exit with `code`
  | { t: "budget"; ms: number; stateFile: string | null } // after a (re)load: the stop budget, and where intent is kept
  | { t: "ready"; socket: string }
  | { t: "notify"; text: string } // for sup's own supervisor (systemd Type=notify): the arbiter sends it to NOTIFY_SOCKET
  | { t: "shutdown"; fast: boolean } // `sup ctl shutdown`: stop sup as on SIGTERM (fast: SIGQUIT)
  | { t: "intent"; entries: Intent[] }; // what the operator decided and the counters, as they change

/** what outlives a manager (contract §1 rev 2): the arbiter keeps it and hands it to the next one */
export interface Intent {
  name: string;
  manualStop: boolean;
  restartCount: number;
  exitCount: number;
  lastExitCode: number | null;
  lastExitSignal: string | null;
  exitedAt: number | null;
}

/** what the arbiter tells a new manager, right after spawning it */
export type ToManager = { t: "intent"; entries: Intent[] };

/** the manager found the config invalid at start */
export const EXIT_BAD_CONFIG = 2;
/** the manager could not take the control socket */
export const EXIT_SOCKET = 78;
