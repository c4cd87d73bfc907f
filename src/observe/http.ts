// GET /metrics over HTTP for Prometheus ([sup] metrics = "host:port"), with Bun's own server.
// Anything else is 404 (405 for another method on /metrics). Sampled per scrape, no timer.

/**
 * Listen on `address` ("host:port", or ":port" for 127.0.0.1). Throws when the port cannot be
 * taken (EADDRINUSE, EACCES) — the caller refuses to start, with that message.
 */
export function serveMetrics(address: string, render: () => string): { stop(force?: boolean): void } {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(address.slice(at + 1));
  return Bun.serve({
    hostname: host,
    port,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== "/metrics") return new Response("not found: only /metrics is served\n", { status: 404 });
      if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
      return new Response(render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    },
  });
}
