import type { MqttClient } from "mqtt";
import type { AgentConfig } from "../config/schema.js";
import { TelemetryBridge } from "../gateway/bridge.js";
import { IdentityAgent } from "../identity/agent.js";
import { EdgeClient } from "../gateway/edge-client.js";
import { errorText, type Logger } from "../log.js";
import { SimulatedMesh } from "../mesh/simulated.js";
import { TelemetrySampler } from "../monitor/sampler.js";
import type { EmbeddedBroker } from "../mqtt/broker.js";
import { connectMqtt } from "../mqtt/connect.js";
import { NodeAgent } from "./node-agent.js";

export interface RunningAgent {
  readonly config: AgentConfig;
  readonly client: MqttClient;
  readonly node: NodeAgent;
  readonly broker?: EmbeddedBroker;
  readonly bridge?: TelemetryBridge;
  readonly edge?: EdgeClient;
  readonly identity?: IdentityAgent;
  stop(): Promise<void>;
}

const FLUSH_ON_STOP_MS = 3000;

/** Starts the agent for its role: every role runs the node loop; a gateway adds its broker and the edge bridge. */
export async function startAgent(config: AgentConfig, log: Logger): Promise<RunningAgent> {
  const embedded = config.gateway?.embeddedBroker;
  // Loaded only where needed: a plain node never pays for the broker's code.
  const broker = embedded
    ? await (await import("../mqtt/broker.js")).EmbeddedBroker.start(embedded, log.child({ component: "broker" }))
    : undefined;
  const brokerUrl = broker && embedded ? `mqtt://${embedded.host}:${broker.port}` : config.broker.url;
  const client = connectMqtt({ ...config, broker: { ...config.broker, url: brokerUrl } });

  const mesh = new SimulatedMesh(config.nodeId, config.mesh.peers, config.mesh.seed);
  const node = new NodeAgent(config, client, new TelemetrySampler(config.nodeId, config.role, mesh), log.child({ component: "monitor" }));
  const identity = config.identity ? new IdentityAgent(config.identity, log.child({ component: "identity" })) : undefined;
  // Not awaited: the mesh keeps working while the edge is unreachable; attestation retries meanwhile.
  identity?.start().catch((error: unknown) => { log.error("identity unavailable", { error: errorText(error) }); });
  const credentials = identity && { token: () => identity.controlPlaneToken(), invalidate: () => { identity.invalidateToken(); } };
  const edge = config.gateway ? new EdgeClient(config.nodeId, config.gateway, log.child({ component: "edge" }), credentials) : undefined;
  const bridge = config.gateway && edge ? new TelemetryBridge(client, config.gateway, edge, log.child({ component: "bridge" })) : undefined;
  bridge?.start();
  node.start();

  const stop = async () => {
    await node.stop();
    if (bridge && edge) {
      await bridge.stop(FLUSH_ON_STOP_MS);
      edge.stop();
      if (edge.queued > 0) log.warn("stopping with telemetry not delivered to the edge", { items: edge.queued });
    }
    await client.endAsync().catch((error: unknown) => { log.warn("mqtt close failed", { error: errorText(error) }); });
    await broker?.close();
  };
  return { config, client, node, broker, bridge, edge, identity, stop };
}
