import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { TelemetryBatch } from "../../protocol/index.js";
import { exactly } from "./contract.js";

export interface FakeEdge {
  url: string;
  batches: TelemetryBatch[];
  /** The Authorization header of each accepted batch. */
  authorizations: string[];
  /** The traceparent header of each batch, accepted or not (undefined where there was none). */
  traceparents: (string | undefined)[];
  /**
   * Decides each response; default 200 with an acceptance body. A batch counts as accepted when it
   * answers 200 at once.
   */
  respond: (batch: TelemetryBatch, res: ServerResponse) => void;
  close(): Promise<void>;
}

const accept = (batch: TelemetryBatch, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({ accepted: batch.items.length, duplicates: 0, revoked: 0, denyListRevision: 0, actions: [] }),
  );
};

/**
 * An HTTP server standing in for POST /api/v1/mape/cycle where the test needs to control the edge's
 * answers (outages, refusals); it validates bodies with the same protocol schema as the Worker.
 */
export async function startFakeEdge(): Promise<FakeEdge> {
  const edge: FakeEdge = {
    url: "",
    batches: [],
    authorizations: [],
    traceparents: [],
    respond: accept,
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      edge.traceparents.push(req.headers.traceparent as string | undefined);
      let batch: TelemetryBatch;
      try {
        // Held to the exact schema: a gateway that sent a field the contract lacks fails its test.
        batch = exactly(TelemetryBatch, JSON.parse(Buffer.concat(chunks).toString()));
      } catch (error) {
        res
          .writeHead(400, { "content-type": "application/problem+json" })
          .end(JSON.stringify({ title: "invalid", detail: String(error) }));
        return;
      }
      edge.respond(batch, res);
      if (res.headersSent && res.statusCode === 200) {
        edge.batches.push(batch);
        edge.authorizations.push(req.headers.authorization ?? "");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  edge.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  edge.close = () =>
    new Promise((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  return edge;
}

export const acceptBatch = accept;
