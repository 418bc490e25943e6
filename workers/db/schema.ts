import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** Times are Unix milliseconds throughout. */
export const nodes = sqliteTable(
  "nodes",
  {
    id: text("id").primaryKey(),
    spiffeId: text("spiffe_id").notNull(),
    role: text("role", { enum: ["node", "gateway"] }).notNull(),
    status: text("status", { enum: ["online", "offline"] }).notNull(),
    firstSeen: integer("first_seen").notNull(),
    lastSeen: integer("last_seen").notNull(),
    firmwareVersion: text("firmware_version").notNull(),
    /** `ts` of the newest telemetry sample stored; older or equal samples are replays. */
    lastTelemetryTs: integer("last_telemetry_ts"),
  },
  (t) => [index("nodes_status_idx").on(t.status)],
);

export const links = sqliteTable(
  "links",
  {
    fromNode: text("from_node").notNull(),
    toNode: text("to_node").notNull(),
    tq: integer("tq").notNull(),
    latencyMs: real("latency_ms").notNull(),
    loss: real("loss").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.fromNode, t.toNode] }), index("links_updated_at_idx").on(t.updatedAt)],
);

/** Per node per minute; sums so that replays of partial minutes can be merged, averages derived on read. */
export const telemetryRollups = sqliteTable(
  "telemetry_rollups",
  {
    nodeId: text("node_id").notNull(),
    minute: integer("minute").notNull(),
    samples: integer("samples").notNull(),
    linkSamples: integer("link_samples").notNull(),
    tqSum: integer("tq_sum").notNull(),
    latencyMsSum: real("latency_ms_sum").notNull(),
    lossSum: real("loss_sum").notNull(),
    rxBytes: integer("rx_bytes").notNull(),
    txBytes: integer("tx_bytes").notNull(),
    rxDropped: integer("rx_dropped").notNull(),
    txDropped: integer("tx_dropped").notNull(),
    rssBytesMax: integer("rss_bytes_max").notNull(),
    cpuPercentSum: real("cpu_percent_sum").notNull(),
  },
  (t) => [primaryKey({ columns: [t.nodeId, t.minute] })],
);

/** MAPE-K knowledge: what was decided, why, from which inputs, and how it turned out. */
export const decisions = sqliteTable(
  "decisions",
  {
    id: text("id").primaryKey(),
    ts: integer("ts").notNull(),
    nodeId: text("node_id"),
    kind: text("kind").notNull(),
    what: text("what", { mode: "json" }).notNull(),
    why: text("why").notNull(),
    inputs: text("inputs", { mode: "json" }).notNull(),
    outcome: text("outcome"),
    outcomeAt: integer("outcome_at"),
  },
  (t) => [index("decisions_node_ts_idx").on(t.nodeId, t.ts), index("decisions_kind_ts_idx").on(t.kind, t.ts)],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ts: integer("ts").notNull(),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    subject: text("subject"),
    outcome: text("outcome").notNull(),
    detail: text("detail", { mode: "json" }),
  },
  (t) => [index("audit_log_ts_idx").on(t.ts), index("audit_log_action_ts_idx").on(t.action, t.ts)],
);
