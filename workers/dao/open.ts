import { openDatabase } from "../db/client.js";
import { readSettings, type Env } from "../env.js";
import type { ExecutorDeps } from "./executor.js";
import { rpcClient } from "./power.js";

/** The DAO on this Worker's bindings: D1, the clock, and the JSON-RPC endpoint when DAO_RPC_URL names one. */
export function openDao(env: Env, now: () => number = Date.now): ExecutorDeps {
  return {
    db: openDatabase(env.DB),
    d1: env.DB,
    now,
    rpc: env.DAO_RPC_URL ? rpcClient(env.DAO_RPC_URL) : undefined,
    trustDomain: readSettings(env).trustDomain,
  };
}
