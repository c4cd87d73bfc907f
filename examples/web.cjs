// A tiny web server companion for the example: answers every request, stops cleanly on SIGTERM.
const http = require("node:http");
const port = Number(process.env.PORT || 8080);
const server = http.createServer((req, res) => res.end(`hello from sup's example web server (pid ${process.pid})\n`));
server.listen(port, () => console.log(`web: listening on http://127.0.0.1:${port}`));
process.on("SIGTERM", () => {
  console.log("web: SIGTERM, closing");
  server.close(() => process.exit(0));
});
