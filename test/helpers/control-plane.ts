import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { adminToken, type Credential } from "../../ctl/credential.js";
import { runCli } from "../../ctl/main.js";
import { createJoinToken, ensureCa, ensureLocalAdmin } from "../../stack/provision.js";
import { startLocalWorker } from "../../stack/worker.js";
import { readWranglerToml } from "../../stack/wrangler-config.js";
import { freePort } from "./processes.js";

export const ROOT = resolve(import.meta.dirname, "..", "..");

export interface ControlPlane {
  url: string;
  stateDir: string;
  credential: Credential;
  credentialFile: string;
  adminJwt(): Promise<string>;
  joinToken(nodeId: string, role?: "node" | "gateway"): Promise<string>;
  /** Telemetry samples D1 holds for a node (its per-minute rollups, summed). */
  samplesStored(nodeId: string): Promise<number>;
  /** Takes the control plane away (an edge outage) until `start` brings it back on the same state and port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** The real control plane in workerd with local D1, provisioned as `npm start` does it. */
export async function startControlPlane(extraSecrets: Record<string, string> = {}): Promise<ControlPlane> {
  const stateDir = await mkdtemp(join(tmpdir(), "x0-cp-"));
  const wrangler = await readWranglerToml(join(ROOT, "wrangler.toml"));
  const trustDomain = wrangler.vars.TRUST_DOMAIN ?? "x0tta6bl4.mesh";
  const port = await freePort();
  const ca = await ensureCa(stateDir, trustDomain);
  const admin = await ensureLocalAdmin(stateDir, trustDomain, `http://127.0.0.1:${port}`);
  const launch = () =>
    startLocalWorker({
      root: ROOT,
      stateDir,
      host: "127.0.0.1",
      port,
      wrangler,
      secrets: { X0_CA: JSON.stringify(ca), X0_BOOTSTRAP_ADMINS: admin.bootstrap, ...extraSecrets },
    });
  let worker: Awaited<ReturnType<typeof launch>> | undefined = await launch();
  const url = worker.url.origin;
  const adminJwt = () => adminToken(admin.credential, url);
  return {
    url,
    stateDir,
    credential: admin.credential,
    credentialFile: admin.credentialFile,
    adminJwt,
    joinToken: async (nodeId, role = "node") => createJoinToken(url, await adminJwt(), nodeId, role),
    samplesStored: async (nodeId) => {
      if (!worker) throw new Error("the control plane is stopped");
      const db = await worker.database();
      const row = await db
        .prepare("SELECT coalesce(sum(samples), 0) AS n FROM telemetry_rollups WHERE node_id = ?")
        .bind(nodeId)
        .first<{ n: number }>();
      return row?.n ?? 0;
    },
    stop: async () => {
      await worker?.dispose();
      worker = undefined;
    },
    start: async () => {
      worker ??= await launch();
    },
    dispose: async () => {
      await worker?.dispose();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** x0ctl, in this process, against the control plane as its admin: exit code and what it printed. */
export async function runCliAgainst(cp: ControlPlane, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(
    [...argv, "--credential", cp.credentialFile],
    { X0_STATE: "/nonexistent" },
    { out: (t) => out.push(t), err: (t) => err.push(t) },
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}
