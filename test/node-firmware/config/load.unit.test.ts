import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../node-firmware/config/load.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "x0-config-"));
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function problemsOf(file: string): Promise<string[]> {
  const error = await loadConfig(file).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

describe("loadConfig", () => {
  it("loads TOML with defaults filled in", async () => {
    const file = await write(
      "node.toml",
      `nodeId = "node-1"\nrole = "node"\n[mesh]\nbackend = "simulated"\npeers = ["node-1", "node-2"]\n`,
    );
    const config = await loadConfig(file);
    expect(config.telemetry).toEqual({ intervalMs: 1000, bufferMaxItems: 3600 });
    expect(config.broker).toEqual({ url: "mqtt://127.0.0.1:1883", keepaliveS: 10, reconnectMs: 1000 });
    expect(config.mesh).toMatchObject({ backend: "simulated", seed: 1 });
  });

  it("loads a gateway from JSON", async () => {
    const file = await write(
      "gw.json",
      JSON.stringify({
        nodeId: "gw-1",
        role: "gateway",
        mesh: { backend: "simulated", peers: ["gw-1"] },
        identity: { edgeUrl: "http://127.0.0.1:8787", stateDir: "/var/lib/x0/gw-1" },
        gateway: { edgeUrl: "http://127.0.0.1:8787", embeddedBroker: { port: 0 } },
      }),
    );
    const config = await loadConfig(file);
    expect(config.gateway?.batch).toEqual({ maxItems: 200, maxDelayMs: 1000 });
    expect(config.gateway?.queueSyncMs).toBe(1000);
    expect(config.gateway?.embeddedBroker).toEqual({ host: "127.0.0.1", port: 0, tls: true, simulation: false });
    expect(config.gateway?.shareGroup).toBe("x0-gateways");
  });

  it("names each bad field in one message", async () => {
    const file = await write(
      "bad.toml",
      [
        `nodeId = "Node_1"`,
        `role = "router"`,
        `colour = "red"`,
        `[telemetry]`,
        `intervalMs = "fast"`,
        `[broker]`,
        `url = "http://example"`,
        `[mesh]`,
        `backend = "simulated"`,
        `peers = ["node-2"]`,
      ].join("\n"),
    );
    const problems = await problemsOf(file);
    const joined = problems.join("\n");
    expect(joined).toMatch(/^nodeId: must be 1-63 chars/m);
    expect(joined).toMatch(/^role: /m);
    expect(joined).toMatch(/colour/);
    expect(joined).toMatch(/^telemetry\.intervalMs: /m);
    expect(joined).toMatch(/^broker\.url: must be an mqtt:\/\/ or mqtts:\/\/ URL/m);
  });

  it("requires the gateway section for a gateway and the node among its peers", async () => {
    const file = await write(
      "gw-missing.json",
      JSON.stringify({ nodeId: "gw-1", role: "gateway", mesh: { backend: "simulated", peers: ["x"] } }),
    );
    const problems = await problemsOf(file);
    expect(problems).toContain('gateway: is required when role is "gateway"');
    expect(problems.some((p) => p.startsWith("identity: is required"))).toBe(true);
    expect(problems).toContain('mesh.peers: must include this node\'s id "gw-1"');
  });

  it("reports unreadable, unparsable and unknown-format files", async () => {
    expect((await problemsOf(join(dir, "missing.toml")))[0]).toMatch(/^cannot read: /);
    expect((await problemsOf(await write("broken.toml", "nodeId = ")))[0]).toMatch(/^cannot parse TOML: /);
    expect((await problemsOf(await write("broken.json", "{")))[0]).toMatch(/^cannot parse JSON: /);
    expect((await problemsOf(await write("conf.yaml", "a: 1")))[0]).toMatch(/unknown config format/);
  });
});
