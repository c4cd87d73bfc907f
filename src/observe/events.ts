// The event stream (contract §11): every state change and sup's own lifecycle, to any number of
// subscribers. Costs nothing without subscribers (nothing is built); each subscriber is bounded
// by its connection (a slow one loses events for itself, told {"dropped":N}).
import type { Json } from "../control/protocol.ts";

export class EventHub {
  private readonly subs = new Set<(e: Json) => void>();

  get listening(): boolean {
    return this.subs.size > 0;
  }

  subscribe(send: (e: Json) => void): () => void {
    this.subs.add(send);
    return () => this.subs.delete(send);
  }

  /** build the event only when someone listens */
  emit(make: () => Json): void {
    if (!this.subs.size) return;
    const e = make();
    for (const s of this.subs) s(e);
  }
}
