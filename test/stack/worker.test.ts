import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { adminToken } from "../../ctl/credential.js";
import { callEdge } from "../../node-firmware/identity/client.js";
import { z } from "zod";
import { DenyEntry, DenyList } from "../../protocol/index.js";
import { splitStatements } from "../../stack/migrations.js";
import { ensureCa, ensureLocalAdmin } from "../../stack/provision.js";
import { startLocalWorker, type LocalWorker } from "../../stack/worker.js";
import { readWranglerToml } from "../../stack/wrangler-config.js";
import { ROOT } from "../helpers/control-plane.js";
import { freePort } from "../helpers/processes.js";
import { useTempDirs } from "../helpers/tmp.js";

const stateDir = useTempDirs("x0-state-");

/** Starts the Worker on `dir` as npm start does: local CA and admin kept in the same folder. */
async function start(dir: string): Promise<{ worker: LocalWorker; jwt: () => Promise<string> }> {
  const port = await freePort();
  const ca = await ensureCa(dir, "x0tta6bl4.mesh");
  const admin = await ensureLocalAdmin(dir, "x0tta6bl4.mesh", `http://127.0.0.1:${port}`);
  const worker = await startLocalWorker({
    root: ROOT,
    stateDir: dir,
    host: "127.0.0.1",
    port,
    wrangler: await readWranglerToml(join(ROOT, "wrangler.toml")),
    secrets: { X0_CA: JSON.stringify(ca), X0_BOOTSTRAP_ADMINS: admin.bootstrap },
  });
  return { worker, jwt: () => adminToken(admin.credential, worker.url.origin) };
}

const wrangler = (args: string[]) =>
  promisify(execFile)(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
  });

describe("local control plane (Miniflare + local D1)", () => {
  it("applies the migrations once; state, CA and admin persist across restarts", async () => {
    const dir = await stateDir();
    const first = await start(dir);
    try {
      expect(first.worker.appliedMigrations).toEqual([
        "0000_init.sql",
        "0001_identity.sql",
        "0002_mape.sql",
        "0003_knowledge.sql",
        "0004_telemetry_sequence.sql",
        "0005_action_results.sql",
        "0006_refusals_sessions.sql",
        "0007_rag.sql",
        "0008_decision_evidence.sql",
        "0009_dao.sql",
      ]);
      await callEdge(
        first.worker.url.origin,
        await first.jwt(),
        "/api/v1/identity/revoke",
        z.object({ revoked: DenyEntry }),
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ spiffeId: "spiffe://x0tta6bl4.mesh/node/kept", reason: "persistence check" }),
        },
      );
    } finally {
      await first.worker.dispose();
    }
    const second = await start(dir);
    try {
      expect(second.worker.appliedMigrations).toEqual([]);
      const list = await callEdge(second.worker.url.origin, await second.jwt(), "/api/v1/identity/denylist", DenyList);
      expect(list.entries.map((e) => e.spiffeId)).toEqual(["spiffe://x0tta6bl4.mesh/node/kept"]);
    } finally {
      await second.worker.dispose();
    }
  });

  it("agrees with `wrangler d1 migrations apply DB --local` on the same state folder", async () => {
    const dir = await stateDir();
    const applied = await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(dir, "state")]);
    expect(applied.stdout).toContain("0000_init.sql");
    expect(applied.stdout).toContain("0001_identity.sql");
    const { worker } = await start(dir);
    try {
      expect(worker.appliedMigrations).toEqual([]);
      expect((await fetch(new URL("/api/v1/identity/bundle", worker.url))).status).toBe(200);
    } finally {
      await worker.dispose();
    }
  }, 60_000);
});

describe("early refusals over a real socket", () => {
  it("a client still uploading gets its 401 or 413, not a reset connection", async () => {
    const { worker } = await start(await stateDir());
    const refuse = async (size: number) => {
      const headers = { "content-type": "application/json", authorization: "Bearer not.a.jwt" };
      const res = await fetch(new URL("/api/v1/telemetry", worker.url), {
        method: "POST",
        body: "[".repeat(size),
        headers,
      });
      await res.text();
      return res.status;
    };
    try {
      const statuses = [];
      for (let i = 0; i < 150; i++) statuses.push(await refuse(2 * 1024 * 1024));
      for (let i = 0; i < 20; i++) statuses.push(await refuse(900 * 1024));
      expect(new Set(statuses)).toEqual(new Set([413, 401]));
    } finally {
      await worker.dispose();
    }
  }, 60_000);
});

describe("splitStatements", () => {
  it("splits drizzle-kit output on its breakpoints and plain SQL on semicolons at line ends", () => {
    expect(splitStatements("CREATE TABLE a (x int);\n--> statement-breakpoint\nCREATE INDEX i ON a (x);")).toEqual([
      "CREATE TABLE a (x int);",
      "CREATE INDEX i ON a (x);",
    ]);
    expect(splitStatements("CREATE TABLE a (\n  x int\n);\nINSERT INTO a VALUES (1);\n")).toEqual([
      "CREATE TABLE a (\n  x int\n)",
      "INSERT INTO a VALUES (1)",
    ]);
  });
});
