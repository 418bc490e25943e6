import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../ctl/main.js";
import { adminToken } from "../../ctl/credential.js";
import { CaSecret, SpiffeBundle } from "../../protocol/index.js";
import { ensureLocalAdmin, type LocalAdmin } from "../../stack/provision.js";
import { startLocalWorker, type LocalWorker } from "../../stack/worker.js";
import { readWranglerToml } from "../../stack/wrangler-config.js";
import { ROOT } from "../helpers/control-plane.js";
import { freePort } from "../helpers/processes.js";

let work: string;
let caDir: string;
let port: number;
let admin: LocalAdmin;
let worker: LocalWorker | undefined;

const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const code = await runCli(argv, { X0_STATE: "/nonexistent" }, { out: (t) => out.push(t), err: (t) => out.push(t) });
  return { code, out: out.join("\n") };
};
const readSecret = async () => CaSecret.parse(JSON.parse(await readFile(join(caDir, "x0-ca.json"), "utf8")));

/** (Re)starts the control plane on the same D1 state with the CA secret as it is now, as a redeploy would. */
async function deploy(): Promise<string> {
  await worker?.dispose();
  worker = await startLocalWorker({
    root: ROOT,
    stateDir: work,
    host: "127.0.0.1",
    port,
    wrangler: await readWranglerToml(join(ROOT, "wrangler.toml")),
    secrets: { X0_CA: JSON.stringify(await readSecret()), X0_BOOTSTRAP_ADMINS: admin.bootstrap },
  });
  return worker.url.origin;
}

const bundle = async (api: string) => SpiffeBundle.parse(await (await fetch(`${api}/api/v1/identity/bundle`)).json());
const jwtKids = (b: SpiffeBundle) => b.keys.filter((k) => k.use === "jwt-svid").map((k) => k.kid);
const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split(".")[0] as string, "base64url").toString()) as { kid: string }).kid;
const status = async (api: string, token: string) =>
  (await fetch(`${api}/api/v1/mesh/nodes`, { headers: { authorization: `Bearer ${token}` } })).status;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "x0-rotation-"));
  caDir = join(work, "ca");
  port = await freePort();
  expect((await cli("ca", "init", "--trust-domain", "x0tta6bl4.mesh", "--out", caDir)).code).toBe(0);
  admin = await ensureLocalAdmin(work, "x0tta6bl4.mesh", `http://127.0.0.1:${port}`);
});
afterAll(async () => {
  await worker?.dispose();
  await rm(work, { recursive: true, force: true });
});

describe("CA rotation (x0ctl ca prepare / promote)", () => {
  it("publishes the next key before it signs, and keeps the old one until its SVIDs expired", async () => {
    let api = await deploy();
    const first = await bundle(api);
    expect(jwtKids(first)).toHaveLength(1);
    const oldToken = await adminToken(admin.credential, api);

    expect((await cli("ca", "prepare", "--dir", caDir)).code).toBe(0);
    expect((await cli("ca", "prepare", "--dir", caDir)).out).toMatch(/already prepared/);
    api = await deploy();
    const prepared = await bundle(api);
    expect(jwtKids(prepared)).toHaveLength(2);
    expect(prepared.spiffe_sequence).toBe(first.spiffe_sequence! + 1);
    expect(kidOf(await adminToken(admin.credential, api))).toBe(kidOf(oldToken));

    expect((await cli("ca", "promote", "--dir", caDir)).code).toBe(0);
    api = await deploy();
    const promoted = await bundle(api);
    const newToken = await adminToken(admin.credential, api);
    expect(kidOf(newToken)).not.toBe(kidOf(oldToken));
    expect(jwtKids(promoted).sort()).toEqual([kidOf(oldToken), kidOf(newToken)].sort());
    expect(promoted.spiffe_sequence).toBe(prepared.spiffe_sequence! + 1);
    expect(await status(api, oldToken)).toBe(200);

    const secret = await readSecret();
    await writeFile(
      join(caDir, "x0-ca.json"),
      JSON.stringify({
        ...secret,
        previous: { ...secret.previous, retireAt: new Date(Date.now() - 1000).toISOString() },
      }),
    );
    api = await deploy();
    const retired = await bundle(api);
    expect(jwtKids(retired)).toEqual([kidOf(newToken)]);
    expect(retired.spiffe_sequence).toBe(promoted.spiffe_sequence! + 1);
    expect(await status(api, oldToken)).toBe(401);
    expect(await status(api, newToken)).toBe(200);
    expect((await cli("ca", "promote", "--dir", caDir)).out).toMatch(/no next CA is prepared/);
  });
});
