import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { splitStatements } from "../../stack/migrations.js";
import { startLocalWorker } from "../../stack/worker.js";
import { freePort } from "../helpers/processes.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "x0-state-"));
  dirs.push(dir);
  return dir;
}

const wrangler = (args: string[]) =>
  promisify(execFile)(join(ROOT, "node_modules", ".bin", "wrangler"), args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" },
  });

describe("local control plane (Miniflare + local D1)", () => {
  it("applies the migrations once and serves the API; state persists across restarts", async () => {
    const dir = await stateDir();
    const first = await startLocalWorker({ root: ROOT, stateDir: dir, host: "127.0.0.1", port: await freePort() });
    try {
      expect(first.appliedMigrations).toEqual(["0000_init.sql"]);
      const res = await fetch(new URL("/api/v1/telemetry", first.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          gatewayId: "gw-1",
          sentAt: Date.now(),
          items: [{ kind: "status", status: { v: 1, nodeId: "kept", role: "node", state: "online", ts: Date.now(), firmware: "0.1.0" } }],
        }),
      });
      expect(res.status).toBe(200);
    } finally {
      await first.dispose();
    }
    const second = await startLocalWorker({ root: ROOT, stateDir: dir, host: "127.0.0.1", port: await freePort() });
    try {
      expect(second.appliedMigrations).toEqual([]);
      const body = (await (await fetch(new URL("/api/v1/mesh/nodes", second.url))).json()) as { nodes: { id: string }[] };
      expect(body.nodes.map((n) => n.id)).toEqual(["kept"]);
    } finally {
      await second.dispose();
    }
  });

  it("agrees with `wrangler d1 migrations apply DB --local` on the same state folder", async () => {
    const dir = await stateDir();
    const applied = await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(dir, "state")]);
    expect(applied.stdout).toContain("0000_init.sql");
    const worker = await startLocalWorker({ root: ROOT, stateDir: dir, host: "127.0.0.1", port: await freePort() });
    try {
      expect(worker.appliedMigrations).toEqual([]);
      expect((await fetch(new URL("/api/v1/mesh/topology", worker.url))).status).toBe(200);
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
    expect(splitStatements("CREATE TABLE a (\n  x int\n);\nINSERT INTO a VALUES (1);\n")).toEqual(["CREATE TABLE a (\n  x int\n)", "INSERT INTO a VALUES (1)"]);
  });
});
