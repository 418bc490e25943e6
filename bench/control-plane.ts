import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../node-firmware/lib/index.js";
import { ensureCa, ensureLocalAdmin, freePort, readWranglerToml, startLocalWorker } from "../stack/index.js";

const TD = "x0tta6bl4.mesh";

/**
 * A benchmark's own control plane: workerd with local D1 in a fresh state folder, with a CA and
 * an admin; with `embedder`, RAG's Node embedder bound as a service.
 */
export async function startBenchControlPlane(
  name: string,
  vars: Record<string, string>,
  embedder?: (request: Request) => Promise<Response>,
) {
  const root = packageRoot();
  const state = await mkdtemp(join(tmpdir(), `x0-bench-${name}-`));
  const port = await freePort();
  const ca = await ensureCa(state, TD);
  const admin = await ensureLocalAdmin(state, TD, `http://127.0.0.1:${String(port)}`);
  const worker = await startLocalWorker({
    root,
    stateDir: state,
    host: "127.0.0.1",
    port,
    wrangler: await readWranglerToml(join(root, "wrangler.toml")),
    secrets: { X0_CA: JSON.stringify(ca), X0_BOOTSTRAP_ADMINS: admin.bootstrap, ...vars },
    ...(embedder ? { embedder } : {}),
  });
  return { state, worker, admin, api: worker.url.origin };
}
