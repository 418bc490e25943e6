import { execFile } from "node:child_process";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../ctl/main.js";
import { CaSecret } from "../../protocol/index.js";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { freePort } from "../helpers/processes.js";

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane();
});
afterAll(() => cp.dispose());

/** No local stack's credential is picked up from the working directory. */
async function run(argv: string[], env: NodeJS.ProcessEnv = { X0_STATE: "/nonexistent" }) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, env, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("x0ctl against the real control plane", () => {
  it("authenticates with the admin credential and lists nodes (table and JSON)", async () => {
    const table = await run(["nodes", "--credential", cp.credentialFile]);
    expect(table).toMatchObject({ code: 0, err: "" });
    expect(table.out).toMatch(/^ID\s+ROLE\s+STATUS/);
    const json = await run(["nodes", "--json"], { X0_STATE: cp.stateDir });
    expect(JSON.parse(json.out)).toEqual({ nodes: [] });
  });

  it("creates join tokens and revokes identities", async () => {
    const created = await run(["token", "create", "--node", "node-77", "--json", "--credential", cp.credentialFile]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ spiffeId: "spiffe://x0tta6bl4.mesh/node/node-77" });
    const revoked = await run([
      "revoke",
      "--spiffe-id",
      "spiffe://x0tta6bl4.mesh/node/node-77",
      "--reason",
      "decommissioned",
      "--credential",
      cp.credentialFile,
    ]);
    expect(revoked).toMatchObject({ code: 0 });
    expect(revoked.out).toMatch(/^revoked spiffe:\/\/x0tta6bl4.mesh\/node\/node-77/);
  });

  it("says what went wrong: no credential, unreachable API, bad arguments, unknown command", async () => {
    const anonymous = await run(["nodes", "--api", cp.url]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.err).toMatch(/no admin credential/);
    const down = await run([
      "nodes",
      "--credential",
      cp.credentialFile,
      "--api",
      `http://127.0.0.1:${await freePort()}`,
    ]);
    expect(down.code).toBe(1);
    expect(down.err).toMatch(/cannot authenticate as admin|cannot reach/);
    expect((await run(["token", "create", "--credential", cp.credentialFile])).err).toMatch(/--node is required/);
    const unknown = await run(["reboot"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command "reboot"/);
    expect((await run(["--help"])).code).toBe(0);
    const notNeighbors = await run([
      "sim",
      "degrade",
      "--node",
      "node-1",
      "--neighbor",
      "node-2",
      "--credential",
      cp.credentialFile,
    ]);
    expect(notNeighbors).toMatchObject({ code: 1 });
    expect(notNeighbors.err).toMatch(/node-1 has no link to node-2; its neighbors: none known/);
  });

  it("ca init writes the offline root, its key (0600) and the Worker's secret", async () => {
    const out = join(await mkdtemp(join(tmpdir(), "x0-ca-")), "ca");
    const result = await run(["ca", "init", "--trust-domain", "example.mesh", "--out", out]);
    expect(result.code).toBe(0);
    expect((await stat(join(out, "root-key.pem"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(out, "x0-ca.json"))).mode & 0o777).toBe(0o600);
    const secret = CaSecret.parse(JSON.parse(await readFile(join(out, "x0-ca.json"), "utf8")));
    expect(secret.trustDomain).toBe("example.mesh");
    // openssl agrees the intermediate chains to the root.
    const intermediate = join(out, "intermediate.pem");
    await writeFile(intermediate, secret.active.chain[0] as string);
    const { stdout } = await promisify(execFile)("openssl", ["verify", "-CAfile", join(out, "root.pem"), intermediate]);
    expect(stdout.trim()).toBe(`${intermediate}: OK`);
    expect((await run(["ca", "init", "--trust-domain", "Bad_Domain!"])).code).toBe(1);
  });
});
