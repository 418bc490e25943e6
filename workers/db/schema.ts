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
    /** `seq` of that sample: a later sample whose seq jumps past it shows samples that never arrived. */
    lastTelemetrySeq: integer("last_telemetry_seq"),
    /** Telemetry samples stored, and samples missing by sequence (lost anywhere between node and D1). */
    samplesStored: integer("samples_stored").notNull().default(0),
    samplesMissing: integer("samples_missing").notNull().default(0),
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
    /** Judged after the window: did the metric recover once the action was applied? */
    verdict: text("verdict", { enum: ["recovered", "not-recovered"] }),
    verdictAt: integer("verdict_at"),
    /** Related runbooks and past decisions RAG found when the decision was made (`RagEvidence`). */
    evidence: text("evidence", { mode: "json" }),
    /** When the closed decision became a document of RAG's `decisions` collection. */
    ragIndexedAt: integer("rag_indexed_at"),
  },
  (t) => [
    index("decisions_node_ts_idx").on(t.nodeId, t.ts),
    index("decisions_kind_ts_idx").on(t.kind, t.ts),
    index("decisions_rag_indexed_idx").on(t.ragIndexedAt, t.ts),
  ],
);

/**
 * Every result a node sent for a decision, the first included: a decision's outcome is set once
 * (by the first result), and later or repeated ones are kept here beside it, not over it.
 */
export const actionResults = sqliteTable(
  "action_results",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    decisionId: text("decision_id").notNull(),
    nodeId: text("node_id").notNull(),
    actionId: text("action_id"),
    outcome: text("outcome").notNull(),
    reason: text("reason"),
    ts: integer("ts").notNull(),
  },
  (t) => [index("action_results_decision_idx").on(t.decisionId)],
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

/** Identities allowed to attest by proof of possession: the Ed25519 key registered at first attestation. */
export const registrations = sqliteTable("registrations", {
  spiffeId: text("spiffe_id").primaryKey(),
  nodeKey: text("node_key").notNull(),
  createdAt: integer("created_at").notNull(),
  lastAttestedAt: integer("last_attested_at").notNull(),
});

/** Single-use join tokens; only their SHA-256 is stored. */
export const joinTokens = sqliteTable(
  "join_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    spiffeId: text("spiffe_id").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (t) => [index("join_tokens_expires_idx").on(t.expiresAt)],
);

/** Attestation nonces already spent, kept until they would have expired anyway. */
export const usedNonces = sqliteTable(
  "used_nonces",
  { nonce: text("nonce").primaryKey(), expiresAt: integer("expires_at").notNull() },
  (t) => [index("used_nonces_expires_idx").on(t.expiresAt)],
);

/** Every X.509-SVID issued, so a serial can be revoked and an issuance traced. */
export const issuedSvids = sqliteTable(
  "issued_svids",
  {
    serial: text("serial").primaryKey(),
    spiffeId: text("spiffe_id").notNull(),
    notBefore: integer("not_before").notNull(),
    notAfter: integer("not_after").notNull(),
  },
  (t) => [index("issued_svids_spiffe_idx").on(t.spiffeId)],
);

export const revocations = sqliteTable(
  "revocations",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    spiffeId: text("spiffe_id"),
    serial: text("serial"),
    reason: text("reason").notNull(),
    revokedBy: text("revoked_by").notNull(),
    revokedAt: integer("revoked_at").notNull(),
  },
  (t) => [index("revocations_spiffe_idx").on(t.spiffeId), index("revocations_serial_idx").on(t.serial)],
);

/** `spiffe_sequence` of the published bundle and the key set it was computed for. */
export const bundleState = sqliteTable("bundle_state", {
  id: integer("id").primaryKey(),
  sequence: integer("sequence").notNull(),
  fingerprint: text("fingerprint").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Per-link, per-metric baseline for the Analyze step: EWMA of the value and of its absolute deviation. */
export const linkBaselines = sqliteTable(
  "link_baselines",
  {
    fromNode: text("from_node").notNull(),
    toNode: text("to_node").notNull(),
    metric: text("metric", { enum: ["latency", "loss", "tq"] }).notNull(),
    mean: real("mean").notNull(),
    deviation: real("deviation").notNull(),
    samples: integer("samples").notNull(),
    /** This link's anomaly threshold when feedback has moved it from the default. */
    threshold: real("threshold"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.fromNode, t.toNode, t.metric] })],
);

/**
 * Requests refused before anyone was identified (invalid attestations, bad tokens) and items
 * refused for a revoked identity, counted per reason and source per window rather than stored
 * one row each: a burst of bad input costs a counter, not storage.
 */
export const refusals = sqliteTable(
  "refusals",
  {
    windowStart: integer("window_start").notNull(),
    reason: text("reason").notNull(),
    source: text("source").notNull(),
    count: integer("count").notNull(),
    lastDetail: text("last_detail"),
  },
  (t) => [primaryKey({ columns: [t.windowStart, t.reason, t.source] })],
);

/** Single-use codes an admin's tool prints for the dashboard (only their hash is kept), exchanged for a session. */
export const loginCodes = sqliteTable("login_codes", {
  codeHash: text("code_hash").primaryKey(),
  spiffeId: text("spiffe_id").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
});

/** Dashboard sessions behind an HttpOnly, SameSite=Strict cookie (only the session id's hash is kept). */
export const dashboardSessions = sqliteTable(
  "dashboard_sessions",
  {
    idHash: text("id_hash").primaryKey(),
    spiffeId: text("spiffe_id").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("dashboard_sessions_expires_idx").on(t.expiresAt)],
);

/**
 * RAG documents: the uploaded text is kept (re-indexing needs it). Versions are generations:
 * chunks of `pendingGen` become searchable together when `liveGen` moves to it.
 */
export const ragDocuments = sqliteTable(
  "rag_documents",
  {
    id: text("id").primaryKey(),
    collection: text("collection", { enum: ["runbooks", "incidents", "decisions"] }).notNull(),
    title: text("title").notNull(),
    source: text("source"),
    /** JSON arrays of strings. */
    tags: text("tags").notNull(),
    nodeIds: text("node_ids").notNull(),
    decisionId: text("decision_id"),
    contentType: text("content_type", { enum: ["text/markdown", "text/plain"] }).notNull(),
    body: text("body").notNull(),
    bodySha256: text("body_sha256").notNull(),
    state: text("state", { enum: ["pending", "indexing", "ready", "failed"] }).notNull(),
    /** 0: nothing searchable yet. */
    liveGen: integer("live_gen").notNull(),
    pendingGen: integer("pending_gen"),
    chunks: integer("chunks").notNull(),
    embeddedChunks: integer("embedded_chunks").notNull(),
    unchangedChunks: integer("unchanged_chunks").notNull(),
    indexedFor: text("indexed_for", { enum: ["hybrid", "lexical"] }),
    /** The tokenizer that counted the chunks (the embedder's vocabulary, or the estimate). */
    tokenizer: text("tokenizer"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("rag_documents_state_idx").on(t.state, t.updatedAt),
    index("rag_documents_decision_idx").on(t.decisionId),
  ],
);

/**
 * Chunks: id is a content hash (document, text, occurrence), so an unchanged chunk keeps its row
 * and its vector across versions. Visible while addedGen ≤ document.liveGen < removedGen.
 */
export const ragChunks = sqliteTable(
  "rag_chunks",
  {
    id: text("id").primaryKey(),
    documentId: text("document_id").notNull(),
    collection: text("collection", { enum: ["runbooks", "incidents", "decisions"] }).notNull(),
    ordinal: integer("ordinal").notNull(),
    text: text("text").notNull(),
    tokens: integer("tokens").notNull(),
    addedGen: integer("added_gen").notNull(),
    removedGen: integer("removed_gen"),
    /** The vector index shard holding its vector; null when indexed for lexical search only. */
    shard: integer("shard"),
  },
  (t) => [index("rag_chunks_document_idx").on(t.documentId)],
);

/** Vector index shards per collection (a Durable Object each) and how many vectors each holds. */
export const ragShards = sqliteTable(
  "rag_shards",
  {
    collection: text("collection").notNull(),
    shard: integer("shard").notNull(),
    vectors: integer("vectors").notNull(),
  },
  (t) => [primaryKey({ columns: [t.collection, t.shard] })],
);

/** DAO spaces: one per mesh, its settings as `SpaceSettings` JSON. */
export const daoSpaces = sqliteTable("dao_spaces", {
  id: text("id").primaryKey(),
  settings: text("settings", { mode: "json" }).notNull(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Token balances admins load (raw integers, as `balanceOf` returns them), per block. */
export const daoBalances = sqliteTable(
  "dao_balances",
  {
    spaceId: text("space_id").notNull(),
    address: text("address").notNull(),
    block: integer("block").notNull(),
    balance: text("balance").notNull(),
  },
  (t) => [primaryKey({ columns: [t.spaceId, t.address, t.block] })],
);

/** Every accepted signed message, by its EIP-712 hash: the record, and what refuses a replay. */
export const daoMessages = sqliteTable(
  "dao_messages",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    spaceId: text("space_id").notNull(),
    address: text("address").notNull(),
    sig: text("sig").notNull(),
    envelope: text("envelope").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [index("dao_messages_space_idx").on(t.spaceId, t.receivedAt)],
);

export const daoProposals = sqliteTable(
  "dao_proposals",
  {
    id: text("id").primaryKey(),
    spaceId: text("space_id").notNull(),
    author: text("author").notNull(),
    type: text("type").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    choices: text("choices", { mode: "json" }).notNull(),
    /** Seconds, as Snapshot's messages carry them. */
    start: integer("start").notNull(),
    end: integer("end").notNull(),
    snapshot: integer("snapshot").notNull(),
    payload: text("payload", { mode: "json" }),
    state: text("state", { enum: ["active", "closed", "cancelled"] }).notNull(),
    /** The tally (`Tally` JSON) as of the last vote, final once closed. */
    tally: text("tally", { mode: "json" }).notNull(),
    provenance: text("provenance", { enum: ["signed", "hub"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("dao_proposals_space_idx").on(t.spaceId, t.createdAt),
    index("dao_proposals_open_idx").on(t.state, t.end),
  ],
);

/** One vote per voter and proposal: a later vote replaces the earlier one while voting is open. */
export const daoVotes = sqliteTable(
  "dao_votes",
  {
    proposalId: text("proposal_id").notNull(),
    voter: text("voter").notNull(),
    id: text("id").notNull(),
    choice: text("choice", { mode: "json" }).notNull(),
    power: real("power").notNull(),
    reason: text("reason").notNull(),
    createdAt: integer("created_at").notNull(),
    provenance: text("provenance", { enum: ["signed", "hub"] }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.proposalId, t.voter] })],
);

/** The execution queue: a passed proposal's payload, applied one step at a time after its timelock. */
export const daoExecutions = sqliteTable(
  "dao_executions",
  {
    proposalId: text("proposal_id").primaryKey(),
    spaceId: text("space_id").notNull(),
    state: text("state", { enum: ["queued", "running", "done", "failed", "cancelled"] }).notNull(),
    eta: integer("eta").notNull(),
    /** The payload's `PolicyChange[]`, applied in order; `dao_applied_steps` says which are done. */
    changes: text("changes", { mode: "json" }).notNull(),
    error: text("error"),
    cancelledBy: text("cancelled_by"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("dao_executions_due_idx").on(t.state, t.eta)],
);

/**
 * A step's marker, written in the transaction that applies the step, whose every statement is
 * conditional on its absence: an interrupted or concurrent executor never applies a step twice.
 */
export const daoAppliedSteps = sqliteTable(
  "dao_applied_steps",
  {
    proposalId: text("proposal_id").notNull(),
    step: integer("step").notNull(),
    appliedAt: integer("applied_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.proposalId, t.step] })],
);

/** The mesh policy executed proposals set: one row per setting, the newest change's value. */
export const meshPolicy = sqliteTable("mesh_policy", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).notNull(),
  proposalId: text("proposal_id").notNull(),
  revision: integer("revision").notNull(),
  appliedAt: integer("applied_at").notNull(),
});
