import { z } from "zod";
import { MacAddress, NodeId, Role, SpiffeIdString, limits } from "../../protocol/index.js";

const MqttUrl = z.url({ protocol: /^mqtts?$/, error: "must be an mqtt:// or mqtts:// URL" });
const HttpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });
const Port = z.number().int().min(0).max(65_535);
const Millis = (min: number, max: number) => z.number().int().min(min).max(max);

const SimulatedMesh = z.strictObject({
  backend: z.literal("simulated"),
  /** Every member of the simulated mesh, this node included; all nodes must list the same set and seed. */
  peers: z.array(NodeId).min(1).max(1024),
  seed: z.number().int().default(1),
  /** This node's neighbors, when the links are given (the lab's veth pairs) rather than derived from the seed. */
  neighbors: z.array(NodeId).max(limits.neighbors).optional(),
});

const InterfaceName = z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, "must be a Linux interface name");

/** The real mesh: the kernel's batman-adv, read and steered through batctl. */
const BatmanAdvMesh = z.strictObject({
  backend: z.literal("batman-adv"),
  meshInterface: InterfaceName.default("bat0"),
  /** The batctl command (a path, when it is not on PATH). */
  batctl: z.string().min(1).default("batctl"),
  /** batctl's originator table is read at most this often. */
  refreshMs: Millis(100, 60_000).default(1000),
  /** A neighbor unheard this long reads TQ 0 (batman-adv IV itself keeps a vanished neighbor's TQ for 200 s). */
  silentAfterMs: Millis(500, 600_000).default(3000),
  /** Each neighbor's latency is measured by a batman-adv echo this often. */
  probeIntervalMs: Millis(1000, 3_600_000).default(10_000),
  /** Originator addresses of nodes that do not announce themselves over mDNS, by node id. */
  nodes: z.record(MacAddress, NodeId).default({}),
});

const DataPlaneSection = z.discriminatedUnion("backend", [
  z.strictObject({ backend: z.literal("simulated") }),
  /**
   * The interfaces' counters only, without XDP: where a kernel lacks it, or where reading the maps
   * costs too much (bpftool runs a few times a second; the UML lab's guests choose this).
   */
  z.strictObject({ backend: z.literal("sysfs"), interfaces: z.array(InterfaceName).min(1).max(64) }),
  z.strictObject({
    /** xdp_guard on the mesh `interfaces`; when eBPF cannot load, their counters only (`sysfs`), said in telemetry. */
    backend: z.literal("xdp"),
    interfaces: z.array(InterfaceName).min(1).max(64),
    /** The built bpf/xdp_guard.bpf.o; default: next to the firmware. */
    object: z.string().min(1).optional(),
    pinRoot: z.string().min(1).optional(),
  }),
]);

const ReflexSection = z.strictObject({
  floodPps: z.number().positive().default(5000),
  isolateTtlS: z.number().int().min(1).max(86_400).default(30),
});

const DiscoverySection = z.strictObject({
  /** Mesh interfaces to announce this node on and browse for peers (mDNS). */
  interfaces: z
    .array(z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, "must be a Linux interface name"))
    .min(1)
    .max(64),
  /** The trust domain of the SPIFFE ID a node without an SVID yet claims. */
  trustDomain: z.string().min(1).max(255).default("x0tta6bl4.mesh"),
});

const EmbeddedBroker = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: Port.default(1883),
  /** mTLS with SVIDs and the topic ACL; needs `identity`. Off only for a broker on loopback in tests. */
  tls: z.boolean().default(true),
  /** The mesh behind this broker is simulated: its nodes may take fault injection (`x0ctl sim`). Off in production. */
  simulation: z.boolean().default(false),
});

const GatewaySection = z.strictObject({
  embeddedBroker: EmbeddedBroker.optional(),
  edgeUrl: HttpUrl,
  /** Gateways in one group split the nodes' messages between them. */
  shareGroup: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 chars of A-Z, a-z, 0-9, '_' and '-'")
    .default("x0-gateways"),
  batch: z
    .strictObject({
      maxItems: z.number().int().min(1).max(limits.batchItems).default(200),
      maxDelayMs: Millis(1, 60_000).default(1000),
    })
    .prefault({}),
  retry: z
    .strictObject({
      initialMs: Millis(10, 60_000).default(250),
      maxMs: Millis(100, 600_000).default(10_000),
      requestTimeoutMs: Millis(100, 120_000).default(10_000),
    })
    .prefault({}),
  /** Items held for the edge while it is unreachable; past this the oldest are dropped and counted. */
  maxQueuedItems: z.number().int().min(limits.batchItems).max(10_000_000).default(50_000),
  /**
   * A node's message is acknowledged once it is written to the edge queue (it survives a killed
   * gateway); it reaches the disk itself within this many ms (what a power cut can take). 0 syncs
   * before every acknowledgement.
   */
  queueSyncMs: z.number().int().min(0).max(60_000).default(1000),
  /** Where the edge queue lives; `<identity.stateDir>/edge-queue` when absent. */
  queueDir: z.string().min(1).optional(),
});

/** tcp_health: RTT and retransmits per destination of the TCP connections in one cgroup (v2). */
const TcpHealthSection = z.strictObject({
  /** The cgroup v2 directory whose processes' connections are measured, e.g. /sys/fs/cgroup/system.slice. */
  cgroup: z.string().min(1),
  /** The built bpf/tcp_health.bpf.o; default: next to the firmware. */
  object: z.string().min(1).optional(),
  pinRoot: z.string().min(1).optional(),
});

const IdentitySection = z.strictObject({
  /** The control plane that attests this node and signs its SVIDs. */
  edgeUrl: HttpUrl,
  /** Keys and SVIDs live under `<stateDir>/identity`, private files mode 0600. */
  stateDir: z.string().min(1),
  /** Single-use token from `x0ctl token create`; only needed until the first attestation succeeds. */
  joinToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/, "must be the base64url token x0ctl printed")
    .optional(),
});

export const AgentConfig = z
  .strictObject({
    nodeId: NodeId,
    role: Role,
    logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
    broker: z
      .strictObject({
        url: MqttUrl.default("mqtt://127.0.0.1:1883"),
        keepaliveS: z.number().int().min(1).max(65_535).default(10),
        reconnectMs: Millis(100, 600_000).default(1000),
        /** With mqtts: the broker's exact SPIFFE ID; without it any ID of the node's trust domain is accepted. */
        spiffeId: SpiffeIdString.optional(),
      })
      .prefault({}),
    telemetry: z
      .strictObject({
        intervalMs: Millis(100, 3_600_000).default(1000),
        /** Samples kept on disk while the broker is unreachable (an hour at 1 Hz); the oldest go first, counted. */
        bufferMaxItems: z.number().int().min(16).max(1_000_000).default(3600),
        /**
         * Where that buffer lives; default `<identity.stateDir>/buffer`. Without either, samples
         * taken offline are skipped and counted.
         */
        bufferDir: z.string().min(1).optional(),
      })
      .prefault({}),
    mesh: z.discriminatedUnion("backend", [BatmanAdvMesh, SimulatedMesh]),
    dataplane: DataPlaneSection.default({ backend: "simulated" }),
    /** Off when absent; where the kernel refuses it the agent says why and runs without. */
    tcpHealth: TcpHealthSection.optional(),
    reflexes: ReflexSection.prefault({}),
    discovery: DiscoverySection.optional(),
    /** OpenTelemetry traces over OTLP/HTTP (off when absent). */
    tracing: z
      .strictObject({
        /** The collector's traces endpoint, e.g. http://127.0.0.1:4318/v1/traces (Jaeger, an OTel Collector; Zipkin through a collector). */
        endpoint: HttpUrl,
        /** Share of new traces recorded; a message that arrives traced keeps its sender's choice. */
        sampleRatio: z.number().min(0).max(1).default(1),
      })
      .optional(),
    /** Prometheus /metrics on this local address (off when absent). */
    metrics: z.strictObject({ host: z.string().min(1).default("127.0.0.1"), port: Port }).optional(),
    identity: IdentitySection.optional(),
    gateway: GatewaySection.optional(),
  })
  .superRefine((config, ctx) => {
    if (config.role === "gateway" && !config.gateway) {
      ctx.addIssue({ code: "custom", path: ["gateway"], message: 'is required when role is "gateway"' });
    }
    if (config.role === "gateway" && !config.identity) {
      ctx.addIssue({
        code: "custom",
        path: ["identity"],
        message: 'is required when role is "gateway": the edge accepts telemetry from attested gateways only',
      });
    }
    const tls = config.broker.url.startsWith("mqtts:") || config.gateway?.embeddedBroker?.tls === true;
    if (tls && !config.identity) {
      ctx.addIssue({
        code: "custom",
        path: ["identity"],
        message:
          "is required for MQTT over TLS (mqtts:// or an embedded broker with tls): the SVID is the TLS certificate",
      });
    }
    if (config.role === "node" && config.gateway) {
      ctx.addIssue({ code: "custom", path: ["gateway"], message: 'is only allowed when role is "gateway"' });
    }
    if (config.mesh.backend === "batman-adv" && config.gateway?.embeddedBroker?.simulation === true) {
      ctx.addIssue({
        code: "custom",
        path: ["gateway", "embeddedBroker", "simulation"],
        message: 'is for a simulated mesh: fault injection never reaches batman-adv (mesh.backend = "simulated")',
      });
    }
    if (config.mesh.backend === "simulated" && !config.mesh.peers.includes(config.nodeId)) {
      ctx.addIssue({
        code: "custom",
        path: ["mesh", "peers"],
        message: `must include this node's id "${config.nodeId}"`,
      });
    }
  });
export type AgentConfig = z.infer<typeof AgentConfig>;
export type GatewayConfig = NonNullable<AgentConfig["gateway"]>;
