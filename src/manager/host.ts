// The seam between the manager's loop and the OS: everything effectful the loop needs.
// bun-host.ts implements it for real; tests use a fake with a virtual clock.
import type { CompanionSpec } from "../config/schema.ts";
import type { Clock } from "../core/types.ts";

export class SpawnError extends Error {}

/** a companion's process group: how to stop it if its manager is gone */
export interface OwnedGroup {
  pgid: number;
  signal: string;
  stopMs: number;
}

export interface Host {
  now(): Clock;
  /** start the companion in its own process group; throws SpawnError with the reason */
  spawn(spec: CompanionSpec, onExit: (pid: number, code: number | null, signal: string | null) => void): number;
  /** deliver a signal to a pid or its whole group; a process already gone is not an error */
  signal(pid: number, signal: string, group: boolean): void;
  /** the one timer: fire `fn` at monotonic `atMono`; null clears it */
  timer(atMono: number | null, fn: () => void): void;
  log(message: string): void;
  /** process groups the manager now owns, for the arbiter to clean up if the manager dies */
  groups?(added: OwnedGroup[], removed: number[]): void;
  /** a shutdown began (operator stop or fail-fast) and will end with this exit code */
  stopping?(code: number): void;
  /** the manager is done (shutdown finished): exit with this code */
  exit(code: number): void;
}
