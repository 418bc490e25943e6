import type { Principal } from "../protocol/index.js";
import type { WorkersAi } from "./rag/embed.js";
import type { RagIndexShard } from "./rag/vector/shard.js";
import type { VectorizeLike } from "./rag/vector/vectorize.js";
import type { Span } from "./tracing/span.js";
import type { Tracer } from "./tracing/tracer.js";

/** Bindings and vars from wrangler.toml. */
export interface Env {
  DB: D1Database;
  ENVIRONMENT: string;
  TRUST_DOMAIN: string;
  /** Seconds of silence after which an `online` node is reported `stale`. */
  NODE_STALE_AFTER_S: string;
  /** Links not refreshed within this many seconds are left out of the topology. */
  LINK_TTL_S: string;
  /** Secret: the CA the control plane signs with (`CaSecret` JSON, written by `x0ctl ca init`). */
  X0_CA?: string;
  /** Secret or var: admins trusted by key before any join token exists (`BootstrapAdmins` JSON). */
  X0_BOOTSTRAP_ADMINS?: string;
  X509_SVID_TTL_S?: string;
  JWT_SVID_TTL_S?: string;
  BUNDLE_REFRESH_HINT_S?: string;
  /** Days audit rows and refusal counters are kept (default 90); the cron trigger prunes older ones. */
  AUDIT_RETENTION_DAYS?: string;
  /** "true": plans are recorded, never sent. */
  MAPE_DRY_RUN?: string;
  /** Guard rails of the Plan step (defaults: 60 s, 3). */
  MAPE_COOLDOWN_S?: string;
  MAPE_MAX_ACTIONS_PER_NODE_PER_MIN?: string;
  /**
   * Floods (defaults: 5000 packets/s per source, isolations last 300 s, at most 20 % of the mesh's
   * node count isolated).
   */
  MAPE_FLOOD_PPS?: string;
  MAPE_ISOLATE_TTL_S?: string;
  MAPE_MAX_ISOLATED_SHARE?: string;
  /** Optional Workers Analytics Engine dataset for request counts across isolates. */
  METRICS?: AnalyticsEngineDataset;
  /** OpenTelemetry traces over OTLP/HTTP JSON to this endpoint (e.g. http://collector:4318/v1/traces); off when unset. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  /** Share of new traces recorded, 0–1 (default 1); a request that arrives traced keeps its caller's choice. */
  OTEL_TRACES_SAMPLER_ARG?: string;
  /** Milliseconds the isolate gathers spans before one export (default 1000; 0: one export per request). */
  OTEL_BSP_SCHEDULE_DELAY?: string;
  /** RAG's vector index: a Durable Object per collection shard. Without it, retrieval is lexical. */
  RAG_INDEX?: DurableObjectNamespace<RagIndexShard>;
  /** A Cloudflare Vectorize index (384 dimensions, cosine, metadata indexes on documentId and decisionId) instead. */
  RAG_VECTORIZE?: VectorizeLike;
  /** "service" | "workers-ai" | "none"; unset: whichever of EMBEDDER, RAG_EMBEDDER_URL, AI is bound. */
  RAG_EMBEDDER?: "service" | "workers-ai" | "none";
  /** The Node embedder as a service binding (`npm start` sets one up through Miniflare). */
  EMBEDDER?: Fetcher;
  /** The Node embedder over HTTP (`x0ctl rag embedder`), where no service binding reaches it. */
  RAG_EMBEDDER_URL?: string;
  /** Workers AI, and its embedding model (default @cf/baai/bge-small-en-v1.5). */
  AI?: WorkersAi;
  RAG_WORKERS_AI_MODEL?: string;
  /**
   * An Ethereum JSON-RPC endpoint for governance: token balances at a proposal's block (spaces whose
   * strategy source is "rpc") and contract-wallet signatures (EIP-1271). Unset: both are off.
   */
  DAO_RPC_URL?: string;
  /** Milliseconds a MAPE cycle may spend attaching RAG evidence to its decisions (default 500). */
  RAG_EVIDENCE_BUDGET_MS?: string;
}

export interface Settings {
  environment: string;
  trustDomain: string;
  nodeStaleAfterMs: number;
  linkTtlMs: number;
  x509SvidTtlS: number;
  jwtSvidTtlS: number;
  bundleRefreshHintS: number;
}

function positiveSeconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value * 1000;
}

export function readSettings(env: Env): Settings {
  return {
    environment: env.ENVIRONMENT || "development",
    trustDomain: env.TRUST_DOMAIN || "x0tta6bl4.mesh",
    nodeStaleAfterMs: positiveSeconds("NODE_STALE_AFTER_S", env.NODE_STALE_AFTER_S, 15),
    linkTtlMs: positiveSeconds("LINK_TTL_S", env.LINK_TTL_S, 60),
    // Config may lower the SVID lifetimes, never raise them past the SPIFFE-minded ceilings.
    x509SvidTtlS: Math.min(3600, positiveSeconds("X509_SVID_TTL_S", env.X509_SVID_TTL_S, 3600) / 1000),
    jwtSvidTtlS: Math.min(300, positiveSeconds("JWT_SVID_TTL_S", env.JWT_SVID_TTL_S, 300) / 1000),
    bundleRefreshHintS: positiveSeconds("BUNDLE_REFRESH_HINT_S", env.BUNDLE_REFRESH_HINT_S, 300) / 1000,
  };
}

/** Who made the request, once authenticated by a JWT-SVID. */
export interface Caller {
  spiffeId: string;
  principal: Principal;
}

export type AppEnv = { Bindings: Env; Variables: { caller: Caller; tracer: Tracer; requestSpan: Span } };
