import type { MqttClient } from "mqtt";
import type { SpanExporter } from "@opentelemetry/sdk-trace";
import { join } from "node:path";
import { DenyList, PolicyBroadcast, RELEASE, spiffeIdOf, type NodeTelemetry } from "../../protocol/index.js";
import { type SpanExportStats } from "../../otlp/index.js";
import { parseSpiffeId, type Authorizer } from "../../spiffe/index.js";
import { DenyView } from "../identity/deny-view.js";
import { DiskQueue } from "../buffer/disk-queue.js";
import type { AgentConfig } from "../config/schema.js";
import { TelemetryBridge } from "../gateway/bridge.js";
import { readJsonFile } from "../gateway/json-file.js";
import { DENY_LIST, EdgeRelay, LatestCopy, MESH_POLICY } from "../gateway/edge-relay.js";
import { PolicyFollower } from "../mqtt/policy.js";
import { EdgeClient } from "../gateway/edge-client.js";
import { openDataPlane } from "../dataplane/open.js";
import type { DataPlane } from "../dataplane/dataplane.js";
import { MeshDiscovery, type SelfAnnouncement } from "../discovery/mdns.js";
import { routeActions } from "../execute/backend.js";
import { ActionExecutor } from "../execute/executor.js";
import { resultPublisher, serveActions } from "../execute/serve.js";
import { IdentityAgent, type SvidMaterial } from "../identity/agent.js";
import { clientTlsOptions, type PeerPolicy } from "../identity/tls.js";
import { errorText, type Logger } from "../lib/log.js";
import { acceptSimFaults } from "../mesh/simulated/faults.js";
import type { BatmanAdvMesh } from "../mesh/batman-adv/mesh.js";
import { NodeDirectory } from "../mesh/batman-adv/node-directory.js";
import { openTcpHealth } from "../ebpf/tcp-health.js";
import { openMesh, type Mesh } from "../mesh/open.js";
import { agentMetrics } from "../metrics/agent-metrics.js";
import { serveMetrics } from "../metrics/server.js";
import { DEFAULT_REFLEXES, Reflexes } from "../monitor/reflexes.js";
import { TelemetrySampler } from "../monitor/sampler.js";
import type { EmbeddedBroker } from "../mqtt/broker.js";
import { connectMqtt } from "../mqtt/connect.js";
import { followDenyList } from "../mqtt/deny-list.js";
import { startTracing } from "../tracing/tracing.js";
import { NodeAgent } from "./node-agent.js";

export interface RunningAgent {
  readonly config: AgentConfig;
  readonly client: MqttClient;
  readonly node: NodeAgent;
  readonly broker?: EmbeddedBroker;
  readonly bridge?: TelemetryBridge;
  readonly edge?: EdgeClient;
  readonly identity?: IdentityAgent;
  readonly deny: DenyView;
  readonly executor: ActionExecutor;
  readonly mesh: Mesh;
  readonly dataplane: DataPlane;
  readonly reflexes: Reflexes;
  /** What became of the spans exported over OTLP/HTTP, when tracing is on. */
  readonly spanExport?: SpanExportStats;
  /** Where /metrics listens, when configured. */
  readonly metricsPort?: number;
  stop(): Promise<void>;
}

const FLUSH_ON_STOP_MS = 3000;
const CLOSE_GRACE_MS = 2000;

/** A clean MQTT goodbye when the broker is there, bounded; unsent QoS 1 samples stay in the disk buffer. */
async function closeMqtt(client: MqttClient): Promise<void> {
  if (!client.connected) {
    await client.endAsync(true);
    return;
  }
  const timeout = new Promise<"timeout">((resolve) =>
    setTimeout(() => {
      resolve("timeout");
    }, CLOSE_GRACE_MS).unref(),
  );
  if ((await Promise.race([client.endAsync(), timeout])) === "timeout") await client.endAsync(true);
}

const usesTls = (config: AgentConfig) =>
  config.broker.url.startsWith("mqtts:") || config.gateway?.embeddedBroker?.tls === true;

function trustDomainOf(svid: SvidMaterial): string {
  const parsed = parseSpiffeId(svid.spiffeId);
  if (!parsed.ok) throw new Error(`own SPIFFE ID is invalid: ${parsed.reason}`);
  return parsed.id.trustDomain;
}

async function loadDenyList(file: string, deny: DenyView, log: Logger): Promise<void> {
  const stored = await readJsonFile(file, DenyList);
  if (stored === undefined) log.warn("no deny list yet: nodes are refused until the first one is fetched");
  else if ("invalid" in stored)
    log.error("the stored deny list is unreadable: nodes are refused until a fresh one is fetched", {
      file,
      reason: stored.invalid,
    });
  else deny.update(stored);
}

/** The gateway's copy of the signed policy, to publish again before the edge answers (or while it cannot). */
async function storedPolicy(file: string, log: Logger): Promise<LatestCopy<PolicyBroadcast>> {
  const copy = new LatestCopy<PolicyBroadcast>();
  const stored = await readJsonFile(file, PolicyBroadcast);
  if (stored !== undefined && "invalid" in stored)
    log.warn("the stored mesh policy is unreadable", { file, reason: stored.invalid });
  else if (stored !== undefined) copy.update(stored);
  return copy;
}

/**
 * Announces this node on its mesh interfaces (with its batman-adv originator address, when it has
 * one) and learns the others': their addresses name batman-adv's neighbors by node id.
 */
function startDiscovery(
  config: AgentConfig,
  identity: IdentityAgent | undefined,
  origin: { macs: string[] | undefined; directory: NodeDirectory },
  log: Logger,
): MeshDiscovery {
  const section = config.discovery as NonNullable<AgentConfig["discovery"]>;
  const announce = (spiffeId: string, attested: boolean): SelfAnnouncement => ({
    nodeId: config.nodeId,
    spiffeId,
    attested,
    firmware: RELEASE,
    ...(origin.macs === undefined ? {} : { macs: origin.macs }),
  });
  const svid = identity?.current;
  const discovery = new MeshDiscovery(
    announce(svid?.spiffeId ?? spiffeIdOf[config.role](section.trustDomain, config.nodeId), svid !== undefined),
    log,
  );
  discovery.on("peer", (peer) => {
    log.info("peer discovered", { ...peer });
    for (const mac of peer.macs ?? []) origin.directory.heard(mac, peer.nodeId);
  });
  discovery.on("lost", (peer) => {
    log.info("peer lost", { nodeId: peer.nodeId, interface: peer.interface });
  });
  identity?.on("svid", (next) => {
    discovery.update(announce(next.spiffeId, true));
  });
  discovery.start(section.interfaces);
  return discovery;
}

/** The node's interface MACs for its announcement; without them peers cannot name it, but it runs on. */
async function interfaceMacsOf(mesh: BatmanAdvMesh, log: Logger): Promise<string[] | undefined> {
  try {
    return await mesh.interfaceAddresses();
  } catch (error) {
    log.warn("no interface addresses to announce: peers will not name this node", { error: errorText(error) });
    return undefined;
  }
}

export interface AgentOptions {
  /** Takes the agent's spans instead of OTLP/HTTP, and turns tracing on (tests' in-memory exporter). */
  spanExporter?: SpanExporter;
}

/** Starts the agent for its role: every role runs the node loop; a gateway adds its broker and the edge bridge. */
export async function startAgent(config: AgentConfig, log: Logger, options: AgentOptions = {}): Promise<RunningAgent> {
  const deny = new DenyView();
  const tracing = startTracing(config, config.tracing, options.spanExporter, log.child({ component: "tracing" }));
  const { tracer } = tracing;
  const identity = config.identity
    ? new IdentityAgent(config.identity, log.child({ component: "identity" }))
    : undefined;
  // With TLS the SVID is the certificate, so it must exist before any connection. Without TLS the
  // mesh works on while the edge is unreachable; attestation retries in the background.
  const svid = identity && usesTls(config) ? await identity.start() : undefined;
  if (identity && !svid)
    identity.start().catch((error: unknown) => {
      log.error("identity unavailable", { error: errorText(error) });
    });
  const trustDomain = svid ? trustDomainOf(svid) : undefined;
  const policy = (authorizer: Authorizer): PeerPolicy => ({ authorizer, deny });

  const bufferDir =
    config.telemetry.bufferDir ?? (config.identity ? join(config.identity.stateDir, "buffer") : undefined);
  const buffer = bufferDir
    ? await DiskQueue.open<NodeTelemetry>({
        dir: bufferDir,
        maxItems: config.telemetry.bufferMaxItems,
        itemsPerSegment: Math.min(256, Math.ceil(config.telemetry.bufferMaxItems / 8)),
      })
    : undefined;
  if (!buffer)
    log.warn(
      "no telemetry buffer: samples taken while the broker is unreachable are skipped (set identity.stateDir or telemetry.bufferDir)",
    );
  const embedded = config.gateway?.embeddedBroker;
  const denyListFile = config.gateway && config.identity ? join(config.identity.stateDir, "deny-list.json") : undefined;
  // The copy on disk is in force before the broker listens; without one, nodes wait for the first fetch.
  if (denyListFile) await loadDenyList(denyListFile, deny, log);
  const edgeQueueDir =
    config.gateway?.queueDir ?? (config.identity ? join(config.identity.stateDir, "edge-queue") : undefined);
  // Loaded only where needed: a plain node never pays for the broker's code.
  const broker = embedded
    ? await (
        await import("../mqtt/broker.js")
      ).EmbeddedBroker.start(
        {
          host: embedded.host,
          port: embedded.port,
          // The bridge taps it further down; what arrives before then waits for it.
          holdUntilTapped: edgeQueueDir !== undefined,
          simulation: embedded.simulation,
          ...(embedded.tls && svid && trustDomain
            ? { tls: { svid, policy: policy({ kind: "trust-domain", trustDomain }), trustDomain } }
            : {}),
        },
        log.child({ component: "broker" }),
      )
    : undefined;
  const scheme = embedded?.tls ? "mqtts" : "mqtt";
  const brokerUrl = broker && embedded ? `${scheme}://${embedded.host}:${broker.port}` : config.broker.url;
  /** What the agent connects to: a gateway's own broker, when it has one. */
  const connected: AgentConfig = { ...config, broker: { ...config.broker, url: brokerUrl } };
  const serverPolicy = () =>
    policy(
      config.broker.spiffeId
        ? { kind: "exact", spiffeId: config.broker.spiffeId }
        : { kind: "trust-domain", trustDomain: trustDomain as string },
    );
  const credentials = identity && {
    token: () => identity.controlPlaneToken(),
    invalidate: () => {
      identity.invalidateToken();
    },
  };
  const directory = new NodeDirectory(config.mesh.backend === "batman-adv" ? config.mesh.nodes : {});
  const mesh = await openMesh(config, directory, log.child({ component: "mesh" }));
  const interfaceMacs = mesh.kind === "batman-adv" ? await interfaceMacsOf(mesh, log) : undefined;
  const dataplane = await openDataPlane(config, mesh.neighborIds, log.child({ component: "dataplane" }));
  const tcpHealth = config.tcpHealth && (await openTcpHealth(config.tcpHealth, log.child({ component: "tcp_health" })));
  const actions = routeActions(mesh, dataplane);
  const edge =
    config.gateway && edgeQueueDir
      ? await EdgeClient.open(config.nodeId, config.gateway, edgeQueueDir, log.child({ component: "edge" }), {
          credentials,
          traceRequest: tracing.traceRequest,
        })
      : undefined;
  // From here to the end of setup nothing may await: every `connect` listener must be in place
  // before the client can connect, or it misses the first connection.
  const client = connectMqtt(connected, svid ? clientTlsOptions(svid, serverPolicy()) : undefined);
  const executeLog = log.child({ component: "execute" });
  const executor = new ActionExecutor(
    config.nodeId,
    actions,
    resultPublisher(client, config.nodeId, executeLog),
    executeLog,
    tracer,
  );
  const monitorLog = log.child({ component: "monitor" });
  const reflexes = new Reflexes(actions, monitorLog, { ...DEFAULT_REFLEXES, ...config.reflexes });
  const meshPolicy = new PolicyFollower(
    (p) => {
      reflexes.applyPolicy(p.settings);
    },
    log.child({ component: "policy" }),
  );
  const trust = (material: SvidMaterial) => {
    Promise.all([executor.trust(material.actionKeys), meshPolicy.trust(material.actionKeys)]).catch(
      (error: unknown) => {
        executeLog.error("action keys unusable", { error: errorText(error) });
      },
    );
  };
  if (svid) trust(svid);
  identity?.on("svid", (next) => {
    trust(next);
    if (!svid) return;
    Object.assign(client.options, clientTlsOptions(next, serverPolicy()));
    broker?.updateSvid(next);
  });
  followDenyList(client, deny, log.child({ component: "deny-list" }));
  meshPolicy.follow(client);
  serveActions(client, config.nodeId, executor, executeLog);
  // Fault injection belongs to the simulated mesh; a broker offers its topics only where
  // `embeddedBroker.simulation` is set, which the configuration allows only with that mesh.
  if (mesh.kind === "simulated")
    acceptSimFaults(client, config.nodeId, mesh, dataplane, log.child({ component: "sim" }));

  const node = new NodeAgent(
    connected,
    client,
    new TelemetrySampler(config.nodeId, config.role, mesh, dataplane, tcpHealth),
    monitorLog,
    buffer,
    reflexes,
    tracer,
  );
  const bridge =
    config.gateway && edge
      ? new TelemetryBridge(client, config.gateway, edge, log.child({ component: "bridge" }), tracing)
      : undefined;
  const relays =
    credentials && config.identity && denyListFile
      ? {
          deny: new EdgeRelay(
            DENY_LIST,
            { edgeUrl: config.identity.edgeUrl, token: credentials.token, file: denyListFile },
            client,
            deny,
            log.child({ component: "deny-list" }),
          ),
          policy: new EdgeRelay(
            MESH_POLICY,
            {
              edgeUrl: config.identity.edgeUrl,
              token: credentials.token,
              file: join(config.identity.stateDir, "policy.json"),
            },
            client,
            await storedPolicy(join(config.identity.stateDir, "policy.json"), log),
            log.child({ component: "policy" }),
          ),
        }
      : undefined;
  edge?.on("denyListRevision", (revision) => {
    relays?.deny.announce(revision);
  });
  edge?.on("policyRevision", (revision) => {
    relays?.policy.announce(revision);
  });
  const discovery = config.discovery
    ? startDiscovery(config, identity, { macs: interfaceMacs, directory }, log.child({ component: "discovery" }))
    : undefined;
  bridge?.start(broker);
  relays?.deny.start();
  relays?.policy.start();
  node.start();

  const stop = async () => {
    await discovery?.stop();
    relays?.deny.stop();
    relays?.policy.stop();
    await node.stop();
    await mesh.close();
    await tcpHealth?.close();
    await buffer?.close();
    // Our own broker takes no more messages before the bridge flushes: what it acknowledged is
    // relayed; what it no longer acknowledges the nodes keep and send to the next broker.
    await broker?.close();
    if (bridge && edge) {
      await bridge.stop(FLUSH_ON_STOP_MS);
      await edge.stop();
      if (edge.queued > 0) log.warn("stopping with telemetry not delivered to the edge", { items: edge.queued });
    }
    identity?.stop();
    await closeMqtt(client).catch((error: unknown) => {
      log.warn("mqtt close failed", { error: errorText(error) });
    });
    await dataplane.close().catch((error: unknown) => {
      log.warn("data plane close failed", { error: errorText(error) });
    });
    await tracing.shutdown().catch((error: unknown) => {
      log.warn("trace export failed", { error: errorText(error) });
    });
  };
  const running: RunningAgent = {
    config,
    client,
    node,
    broker,
    bridge,
    edge,
    identity,
    deny,
    executor,
    mesh,
    dataplane,
    reflexes,
    spanExport: tracing.exportStats,
    stop,
  };
  if (!config.metrics) return running;
  const metrics = await serveMetrics(
    agentMetrics(running),
    config.metrics.host,
    config.metrics.port,
    log.child({ component: "metrics" }),
  );
  return {
    ...running,
    metricsPort: metrics.port,
    stop: async () => {
      await metrics.close();
      await stop();
    },
  };
}
