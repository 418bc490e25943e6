import { Gauge, Histogram, Registry } from "prom-client";
import type { DataPlaneReading, InterfaceCounters, NodeTelemetry } from "../../protocol/index.js";
import type { SpanExportStats } from "../../otlp/index.js";
import type { RunningAgent } from "../agent/run.js";
import type { EdgeClient } from "../gateway/edge-client.js";
import type { IntakeControl } from "../gateway/intake.js";
import type { IdentityAgent } from "../identity/agent.js";
import type { EmbeddedBroker } from "../mqtt/broker.js";
import { MirroredCounter, gauge } from "./families.js";
import { processMetrics } from "./process-metrics.js";

/** Latency buckets for a loop that should answer in tens of milliseconds, seconds at worst. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The agent's Prometheus metrics: mesh health, data plane, the control loop, buffers, rejects,
 * and the process. Everything but the two latency histograms is read from the agent's own state
 * at scrape time.
 */
export function agentMetrics(agent: RunningAgent): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: agent.config.nodeId, role: agent.config.role });
  processMetrics(registry);

  // Registered first: the registry collects in registration order, so this one refreshes the rest
  // from the agent's state before they are read.
  new Gauge({
    name: "x0_agent_up",
    help: "1 while the agent runs",
    registers: [registry],
    collect() {
      this.set(1);
      const sample = agent.node.lastSample;
      mirrorMesh(sample);
      mirrorDataPlane(sample?.dataplane);
      mirrorNode(sample);
      if (agent.broker) mirrorBroker(agent.broker);
      if (agent.bridge) rejected.setEach("reason", agent.bridge.rejections.counts, { component: "bridge" });
      if (agent.identity) mirrorIdentity(agent.identity);
      if (agent.bridge?.intake) mirrorIntake(agent.bridge.intake);
      if (agent.edge) mirrorEdge(agent.edge);
      if (agent.spanExport) mirrorSpanExport(agent.spanExport);
    },
  });
  const publish = new Histogram({
    name: "x0_telemetry_publish_duration_seconds",
    help: "Time from publishing a telemetry sample to the broker's acknowledgement",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  agent.node.onPublished = (seconds) => {
    publish.observe(seconds);
  };
  const cycle = new Histogram({
    name: "x0_mape_cycle_duration_seconds",
    help: "Round trip of one MAPE-K cycle at the edge (POST /api/v1/mape/cycle), gateways only",
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  agent.edge?.on("cycle", (seconds) => {
    cycle.observe(seconds);
  });

  const neighbors = gauge(registry, "x0_neighbors", "Mesh neighbors in the newest sample");
  const tq = gauge(registry, "x0_neighbor_tq", "batman-adv transmit quality towards a neighbor (0-255)", ["neighbor"]);
  const latency = gauge(registry, "x0_link_latency_seconds", "Latency of the link to a neighbor", ["neighbor"]);
  const loss = gauge(registry, "x0_link_loss_ratio", "Packet loss on the link to a neighbor (0-1)", ["neighbor"]);
  const blocklist = gauge(registry, "x0_dataplane_blocklist_entries", "Sources on the data plane's blocklist");
  const limited = gauge(registry, "x0_dataplane_rate_limited_sources", "Sources under a rate limit");
  const dropped = new MirroredCounter(
    registry,
    "x0_dataplane_dropped_packets_total",
    "Packets the data plane dropped, by reason",
    ["reason"],
  );
  const packets = new MirroredCounter(
    registry,
    "x0_dataplane_packets_total",
    "Packets the data plane saw, dropped ones included, by protocol (XDP and the simulator)",
    ["protocol"],
  );
  const interfacePackets = new MirroredCounter(
    registry,
    "x0_mesh_interface_packets_total",
    "Packets through the mesh interfaces, by direction",
    ["direction"],
  );
  const interfaceBytes = new MirroredCounter(
    registry,
    "x0_mesh_interface_bytes_total",
    "Bytes through the mesh interfaces, by direction",
    ["direction"],
  );
  const interfaceDropped = new MirroredCounter(
    registry,
    "x0_mesh_interface_dropped_packets_total",
    "Packets the mesh interfaces dropped, by direction",
    ["direction"],
  );
  const switches = new MirroredCounter(
    registry,
    "x0_path_switches_total",
    "Changes of batman-adv's best next hop to any originator",
  );
  const published = new MirroredCounter(
    registry,
    "x0_telemetry_published_total",
    "Telemetry samples the broker acknowledged",
  );
  const publishErrors = new MirroredCounter(
    registry,
    "x0_telemetry_publish_errors_total",
    "Telemetry publishes that failed",
  );
  const bufferItems = gauge(
    registry,
    "x0_telemetry_buffer_items",
    "Samples waiting in the on-disk buffer for the broker",
  );
  const bufferDropped = new MirroredCounter(
    registry,
    "x0_telemetry_buffer_dropped_total",
    "Samples dropped, oldest first, because the buffer was full",
  );
  const actions = new MirroredCounter(registry, "x0_actions_total", "Signed actions received, by outcome", ["outcome"]);
  const reflexesFailed = new MirroredCounter(
    registry,
    "x0_reflexes_failed_total",
    "Local repairs taken that the mesh or data plane could not carry out, by kind",
    ["kind"],
  );
  const sampleFailures = new MirroredCounter(
    registry,
    "x0_monitor_sample_failures_total",
    "Monitor samples lost because the mesh or data plane could not be read",
  );
  const skippedOffline = new MirroredCounter(
    registry,
    "x0_telemetry_skipped_offline_total",
    "Samples taken while the broker was unreachable with no buffer to keep them",
  );
  const actionsRefused = new MirroredCounter(
    registry,
    "x0_actions_refused_total",
    "Signed actions rejected or expired, by reason: bad_signature, unknown_key, wrong_node, expired, malformed, not_json, not_base64url, too_large",
    ["reason"],
  );
  const reflexes = new MirroredCounter(
    registry,
    "x0_reflexes_total",
    "Repairs taken locally without the edge, by kind",
    ["kind"],
  );
  const rejected = new MirroredCounter(
    registry,
    "x0_rejected_messages_total",
    "MQTT messages refused as invalid, by component and reason",
    ["component", "reason"],
  );
  const identityFailures = new MirroredCounter(
    registry,
    "x0_identity_failures_total",
    "Failed identity operations against the edge, retried: attest, rotate, jwt_refresh, bundle_refresh",
    ["operation"],
  );
  const svidExpiry = gauge(
    registry,
    "x0_svid_expiry_timestamp_seconds",
    "When the agent's X.509-SVID expires (Unix time); it rotates at half its lifetime",
    ["spiffe_id"],
  );
  const brokerClients = gauge(
    registry,
    "x0_broker_clients",
    "MQTT clients connected to the embedded broker (gateways)",
  );
  const brokerRefused = new MirroredCounter(
    registry,
    "x0_broker_connections_refused_total",
    "Connections the embedded broker refused before MQTT, by reason: handshake, no_certificate, untrusted_chain, revoked, unauthorized, lifetime, not_spiffe, bad_certificate, unknown_principal (gateways)",
    ["reason"],
  );
  const edgeQueue = gauge(registry, "x0_edge_queue_items", "Items waiting for the edge (gateways)");
  const edgeDropped = new MirroredCounter(
    registry,
    "x0_edge_items_dropped_total",
    "Items dropped, by reason: overflow (oldest first, the edge queue was full) or refused (the edge answered 4xx, so sending again cannot succeed) (gateways)",
    ["reason"],
  );
  const edgeRetries = new MirroredCounter(
    registry,
    "x0_edge_retries_total",
    "Failed deliveries to the edge that were retried, by reason: network, timeout, http_401, http_408, http_429, http_5xx (gateways)",
    ["reason"],
  );
  const spansExported = new MirroredCounter(
    registry,
    "x0_trace_spans_exported_total",
    "Spans the OTLP collector accepted (tracing on)",
  );
  const spansDropped = new MirroredCounter(
    registry,
    "x0_trace_spans_dropped_total",
    "Ended spans that never reached the OTLP collector, by reason: queue_full, export_failed (tracing on)",
    ["reason"],
  );
  const intakePaused = gauge(
    registry,
    "x0_gateway_intake_paused",
    "1 while the embedded broker stops reading its clients because the edge is falling behind",
  );
  const intakePauses = new MirroredCounter(
    registry,
    "x0_gateway_intake_pauses_total",
    "Times the embedded broker stopped reading its clients for the edge to catch up",
  );
  const intakePausedSeconds = new MirroredCounter(
    registry,
    "x0_gateway_intake_paused_seconds_total",
    "Time the embedded broker spent not reading its clients for the edge to catch up",
  );

  const mirrorMesh = (sample: NodeTelemetry | undefined) => {
    neighbors.set(sample?.neighbors.length ?? 0);
    tq.reset();
    latency.reset();
    loss.reset();
    for (const n of sample?.neighbors ?? []) {
      tq.set({ neighbor: n.neighbor }, n.tq);
      latency.set({ neighbor: n.neighbor }, n.latencyMs / 1000);
      loss.set({ neighbor: n.neighbor }, n.loss);
    }
    if (sample) mirrorInterface(sample.counters);
    switches.set(agent.mesh.pathSwitches);
  };
  const mirrorDataPlane = (dp: DataPlaneReading | undefined) => {
    blocklist.set(dp?.blocklistSize ?? 0);
    limited.set(dp?.rateLimitedSources ?? 0);
    dropped.set(dp?.dropped.blocked ?? 0, { reason: "blocked" });
    dropped.set(dp?.dropped.rateLimited ?? 0, { reason: "rate_limited" });
    packets.setEach("protocol", dp?.packets ?? {});
  };
  const mirrorNode = (sample: NodeTelemetry | undefined) => {
    published.set(agent.node.stats.published);
    publishErrors.set(agent.node.stats.publishErrors);
    bufferItems.set(sample?.buffer?.queued ?? 0);
    bufferDropped.set(sample?.buffer?.dropped ?? 0);
    actions.setEach("outcome", agent.executor.stats);
    actionsRefused.setEach("reason", agent.executor.refusals);
    reflexes.setEach("kind", agent.reflexes.taken);
    reflexesFailed.setEach("kind", agent.reflexes.failed);
    sampleFailures.set(agent.node.stats.sampleErrors);
    skippedOffline.set(agent.node.stats.skippedOffline);
  };
  const mirrorBroker = (broker: EmbeddedBroker) => {
    brokerClients.set(broker.clients);
    brokerRefused.setEach("reason", broker.refusedClients);
    rejected.setEach("reason", broker.rejections.counts, { component: "broker" });
  };
  const mirrorIdentity = (identity: IdentityAgent) => {
    identityFailures.setEach("operation", identity.failed);
    const svid = identity.current;
    svidExpiry.reset();
    if (svid) svidExpiry.set({ spiffe_id: svid.spiffeId }, svid.notAfter / 1000);
  };
  const mirrorIntake = (intake: IntakeControl) => {
    intakePaused.set(intake.paused ? 1 : 0);
    intakePauses.set(intake.stats.pauses);
    intakePausedSeconds.set(intake.pausedMs / 1000);
  };
  const mirrorEdge = (edge: EdgeClient) => {
    edgeQueue.set(edge.queued);
    edgeDropped.set(edge.stats.itemsDroppedOverflow, { reason: "overflow" });
    edgeDropped.set(edge.stats.itemsRefused, { reason: "refused" });
    edgeRetries.setEach("reason", edge.stats.retriesByReason);
  };
  const mirrorSpanExport = (stats: SpanExportStats) => {
    spansExported.set(stats.exported);
    spansDropped.setEach("reason", stats.dropped);
  };
  const mirrorInterface = (c: InterfaceCounters) => {
    interfacePackets.set(c.rxPackets, { direction: "receive" });
    interfacePackets.set(c.txPackets, { direction: "transmit" });
    interfaceBytes.set(c.rxBytes, { direction: "receive" });
    interfaceBytes.set(c.txBytes, { direction: "transmit" });
    interfaceDropped.set(c.rxDropped, { direction: "receive" });
    interfaceDropped.set(c.txDropped, { direction: "transmit" });
  };

  return registry;
}
