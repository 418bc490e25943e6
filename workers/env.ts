/** Bindings and vars from wrangler.toml. */
export interface Env {
  DB: D1Database;
  ENVIRONMENT: string;
  TRUST_DOMAIN: string;
  /** Seconds of silence after which an `online` node is reported `stale`. */
  NODE_STALE_AFTER_S: string;
  /** Links not refreshed within this many seconds are left out of the topology. */
  LINK_TTL_S: string;
}

export interface Settings {
  environment: string;
  trustDomain: string;
  nodeStaleAfterMs: number;
  linkTtlMs: number;
}

function positiveSeconds(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value * 1000;
}

export function readSettings(env: Env): Settings {
  return {
    environment: env.ENVIRONMENT || "development",
    trustDomain: env.TRUST_DOMAIN || "x0tta6bl4.mesh",
    nodeStaleAfterMs: positiveSeconds("NODE_STALE_AFTER_S", env.NODE_STALE_AFTER_S, 15),
    linkTtlMs: positiveSeconds("LINK_TTL_S", env.LINK_TTL_S, 60),
  };
}

export type AppEnv = { Bindings: Env };
