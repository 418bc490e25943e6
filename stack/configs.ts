import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { z } from "zod";
import type { AgentConfig } from "../node-firmware/config/index.js";
import type { TracingConfig } from "../node-firmware/tracing/index.js";
import { spiffeIdOf } from "../protocol/index.js";

export interface StackLayout {
  nodes: number;
  apiUrl: string;
  mqttPort: number;
  seed: number;
  stateDir: string;
  trustDomain: string;
  /** Join tokens for agents not registered yet, by node id. */
  joinTokens: ReadonlyMap<string, string>;
  /** /metrics of the gateway on this port, the nodes' on the ports after it; none when absent. */
  metricsPort?: number;
  /** Every agent's traces go to this collector; none when absent. */
  tracing?: TracingConfig;
}

export const agentStateDir = (stateDir: string, nodeId: string) => join(stateDir, "agents", nodeId);

export const GATEWAY_ID = "gw-1";
export const nodeIds = (count: number): string[] => Array.from({ length: count }, (_, i) => `node-${i + 1}`);

/** A config file as written: defaults left to the agent. */
type AgentConfigInput = z.input<typeof AgentConfig>;

/** One config per agent: a gateway with the embedded broker, and the simulated nodes. */
export function stackConfigs(layout: StackLayout): AgentConfigInput[] {
  const peers = [GATEWAY_ID, ...nodeIds(layout.nodes)];
  const mesh = { backend: "simulated" as const, peers, seed: layout.seed };
  // mTLS with SVIDs; nodes accept only the gateway's SPIFFE ID as their broker.
  const broker = {
    url: `mqtts://127.0.0.1:${layout.mqttPort}`,
    keepaliveS: 5,
    spiffeId: spiffeIdOf.gateway(layout.trustDomain, GATEWAY_ID),
  };
  const identity = (nodeId: string) => {
    const joinToken = layout.joinTokens.get(nodeId);
    return {
      edgeUrl: layout.apiUrl,
      stateDir: agentStateDir(layout.stateDir, nodeId),
      ...(joinToken ? { joinToken } : {}),
    };
  };
  const gateway: AgentConfigInput = {
    nodeId: GATEWAY_ID,
    role: "gateway",
    mesh,
    broker,
    identity: identity(GATEWAY_ID),
    gateway: { embeddedBroker: { host: "127.0.0.1", port: layout.mqttPort, simulation: true }, edgeUrl: layout.apiUrl },
  };
  const metrics = (index: number) =>
    layout.metricsPort === undefined ? {} : { metrics: { host: "127.0.0.1", port: layout.metricsPort + index } };
  const tracing = layout.tracing ? { tracing: layout.tracing } : {};
  return [
    { ...gateway, ...metrics(0), ...tracing },
    ...nodeIds(layout.nodes).map((nodeId, i) => ({
      nodeId,
      role: "node" as const,
      mesh,
      broker,
      identity: identity(nodeId),
      ...metrics(i + 1),
      ...tracing,
    })),
  ];
}

export async function writeConfigs(dir: string, configs: AgentConfigInput[]): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const files = new Map<string, string>();
  for (const config of configs) {
    const file = join(dir, `${config.nodeId}.json`);
    await writeFile(file, JSON.stringify(config, null, 2) + "\n");
    files.set(config.nodeId, file);
  }
  return files;
}
