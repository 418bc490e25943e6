import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { adminToken, type Credential } from "../../ctl/credential.js";
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
  const worker = await startLocalWorker({
    root: ROOT,
    stateDir,
    host: "127.0.0.1",
    port,
    wrangler,
    secrets: { X0_CA: JSON.stringify(ca), X0_BOOTSTRAP_ADMINS: admin.bootstrap, ...extraSecrets },
  });
  const url = worker.url.origin;
  const adminJwt = () => adminToken(admin.credential, url);
  return {
    url,
    stateDir,
    credential: admin.credential,
    credentialFile: admin.credentialFile,
    adminJwt,
    joinToken: async (nodeId, role = "node") => createJoinToken(url, await adminJwt(), nodeId, role),
    dispose: async () => {
      await worker.dispose();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
