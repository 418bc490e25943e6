import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../ctl/main.js";
import { freePort } from "../helpers/processes.js";

let server: Server;
let api: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/api/v1/mesh/nodes") {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          nodes: [
            { id: "node-1", spiffeId: "spiffe://x0tta6bl4.mesh/node/node-1", role: "node", status: "online", firmwareVersion: "0.1.0", firstSeen: new Date().toISOString(), lastSeen: new Date().toISOString() },
          ],
        }),
      );
    } else if (req.url === "/api/v1/mesh/topology") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ surprise: true }));
    } else {
      res.writeHead(503, { "content-type": "application/problem+json" }).end(JSON.stringify({ type: "urn:x", title: "Down", status: 503, detail: "maintenance" }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("x0ctl", () => {
  it("prints nodes as a table, or as JSON, from --api or X0_API", async () => {
    const table = await run(["nodes", "--api", api]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^ID\s+ROLE\s+STATUS/);
    expect(table.out).toContain("node-1");
    const json = await run(["nodes", "--json"], { X0_API: api });
    expect((JSON.parse(json.out) as { nodes: unknown[] }).nodes).toHaveLength(1);
  });

  it("says what went wrong: unreachable API, unexpected shape, unknown command", async () => {
    const down = await run(["nodes", "--api", `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot reach the control plane/);
    const shape = await run(["topology", "--api", api]);
    expect(shape.code).toBe(1);
    expect(shape.err).toMatch(/unexpected response shape/);
    const unknown = await run(["reboot"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "reboot"/);
    expect((await run(["--help"])).code).toBe(0);
  });
});
