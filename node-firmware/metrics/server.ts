import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { errorText, type Logger } from "../lib/log.js";

/** GET /metrics in the Prometheus text format; anything else is 404. */
export async function serveMetrics(
  registry: Registry,
  host: string,
  port: number,
  log: Logger,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": registry.contentType }).end(text);
      },
      (error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${errorText(error)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as { port: number }).port;
  log.info("metrics on /metrics", { host, port: bound });
  return {
    server,
    port: bound,
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}
