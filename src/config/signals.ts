// The signal table: names <-> numbers, validated against the platform's real table.
// Pure: reads only os.constants, never sends a signal.
import { constants } from "node:os";

const table = constants.signals as Record<string, number>;
const byNumber = new Map<number, string>();
for (const [name, num] of Object.entries(table)) {
  // prefer the canonical name when aliases share a number (SIGIOT/SIGABRT, SIGPOLL/SIGIO)
  if (!byNumber.has(num) || name === "SIGABRT" || name === "SIGIO") byNumber.set(num, name);
}

/** "SIGTERM", "TERM", "term", "15" or 15 -> canonical name; undefined when unknown. */
export function parseSignal(input: string | number): string | undefined {
  if (typeof input === "number" || /^\d+$/.test(String(input).trim())) {
    const n = Number(input);
    return Number.isInteger(n) ? byNumber.get(n) : undefined;
  }
  let s = String(input).trim().toUpperCase();
  if (!s.startsWith("SIG")) s = "SIG" + s;
  return s in table ? (byNumber.get(table[s]!) ?? s) : undefined;
}

export function signalNumber(name: string): number {
  const n = table[name];
  if (n === undefined) throw new Error(`unknown signal ${name}`);
  return n;
}

export function signalName(num: number): string {
  return byNumber.get(num) ?? `SIG${num}`;
}
