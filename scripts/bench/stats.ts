// Benchmark statistics and the results table: samples in, medians with min/max/p95 out.
// Pure: no process or file access.

export interface Sample {
  scenario: string;
  /** the scenario's parameters, e.g. "N=500 startsecs=0" */
  case: string;
  metric: string;
  unit: string;
  /** "sup", "supervisord", or a baseline such as "direct" */
  peer: string;
  rep: number;
  value: number;
  /** extra raw detail kept in the JSON only */
  detail?: Record<string, unknown>;
}

export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p95: number;
  mean: number;
}

export function summarize(values: number[]): Summary | null {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    // nearest-rank with linear interpolation
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
  };
  return { n: s.length, median: q(0.5), min: s[0]!, max: s[s.length - 1]!, p95: q(0.95), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

/** a target for sup's median (or p95) of one (scenario, case, metric) */
export interface Target {
  scenario: string;
  case: string;
  metric: string;
  text: string;
  check: (s: Summary) => boolean;
}

export interface Row {
  scenario: string;
  case: string;
  metric: string;
  unit: string;
  byPeer: Record<string, Summary | null>;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

export function rows(samples: Sample[], peers: string[], targets: Target[]): Row[] {
  const keys: string[] = [];
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.scenario}\u0000${s.case}\u0000${s.metric}`;
    if (!groups.has(k)) {
      groups.set(k, []);
      keys.push(k);
    }
    groups.get(k)!.push(s);
  }
  return keys.map((k) => {
    const list = groups.get(k)!;
    const first = list[0]!;
    const byPeer: Record<string, Summary | null> = {};
    for (const p of peers) byPeer[p] = summarize(list.filter((s) => s.peer === p).map((s) => s.value));
    const sup = byPeer.sup ?? null;
    const other = peers.find((p) => p !== "sup");
    const peer = other ? byPeer[other] : null;
    const ratio = sup && peer && peer.median !== 0 ? sup.median / peer.median : null;
    const t = targets.find((t) => t.scenario === first.scenario && t.case === first.case && t.metric === first.metric);
    return { scenario: first.scenario, case: first.case, metric: first.metric, unit: first.unit, byPeer, ratio, target: t?.text ?? "", met: t && sup ? t.check(sup) : null };
  });
}

export function fmt(v: number, unit: string): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Number.isInteger(v) || Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  return `${v.toFixed(digits)}${unit ? " " + unit : ""}`;
}

function cell(s: Summary | null | undefined, unit: string): string {
  if (!s) return "-";
  if (s.n === 1) return fmt(s.median, unit);
  const p95 = s.n >= 10 ? ` p95 ${fmt(s.p95, "")}` : "";
  return `${fmt(s.median, unit)} [${fmt(s.min, "")}..${fmt(s.max, "")}]${p95} n=${s.n}`;
}

/** a plain-text table: one line per (scenario, case, metric) */
export function table(list: Row[], peers: string[]): string {
  const head = ["", "case", "metric", ...peers.map((p) => `${p} median [min..max]`), ...(peers.length > 1 ? ["sup/" + peers.find((p) => p !== "sup")] : []), "sup target", "met?"];
  const body = list.map((r) => [
    r.scenario,
    r.case,
    r.metric,
    ...peers.map((p) => cell(r.byPeer[p], r.unit)),
    ...(peers.length > 1 ? [r.ratio === null ? "-" : r.ratio >= 100 ? r.ratio.toFixed(0) : r.ratio >= 10 ? r.ratio.toFixed(1) : r.ratio >= 0.1 ? r.ratio.toFixed(2) : r.ratio.toPrecision(2)] : []),
    r.target || "",
    r.met === null ? (r.target ? "?" : "") : r.met ? "met" : "NOT MET",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}
