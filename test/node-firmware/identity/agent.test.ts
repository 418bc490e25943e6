import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdentityAgent, type SvidMaterial } from "../../../node-firmware/identity/agent.js";
import { silentLogger } from "../../../node-firmware/lib/log.js";
import { startControlPlane, type ControlPlane } from "../../helpers/control-plane.js";
import { waitFor } from "../../helpers/mqtt.js";
import { ManualClock } from "../../helpers/clock.js";

const run = promisify(execFile);
let cp: ControlPlane;
let work: string;

beforeAll(async () => {
  // A short SVID lifetime (config may lower it) makes rotation and expiry observable in seconds.
  cp = await startControlPlane({ X509_SVID_TTL_S: "4" });
  work = await mkdtemp(join(tmpdir(), "x0-identity-"));
});
afterAll(async () => {
  await cp.dispose();
  await rm(work, { recursive: true, force: true });
});

async function pemFiles(svid: SvidMaterial, name: string) {
  const [leaf, intermediate] = [join(work, `${name}-leaf.pem`), join(work, `${name}-intermediate.pem`)];
  await writeFile(leaf, svid.certificates[0] as string);
  await writeFile(intermediate, svid.certificates.slice(1).join(""));
  return { leaf, intermediate, root: join(cp.stateDir, "ca", "root.pem") };
}

describe("IdentityAgent", () => {
  it("shares one attestation between start and an early control-plane token (a join token is single use)", async () => {
    const agent = new IdentityAgent(
      { edgeUrl: cp.url, stateDir: join(work, "node-early"), joinToken: await cp.joinToken("node-early") },
      silentLogger,
    );
    const [svid, token] = await Promise.all([agent.start(), agent.controlPlaneToken()]);
    expect(svid.spiffeId).toMatch(/\/node\/node-early$/);
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    agent.stop();
  });

  it("attests with a join token; openssl verifies the chain and sees one URI SAN; keys are 0600", async () => {
    const stateDir = join(work, "node-a");
    const agent = new IdentityAgent(
      { edgeUrl: cp.url, stateDir, joinToken: await cp.joinToken("node-a") },
      silentLogger,
    );
    const svid = await agent.start();
    agent.stop();
    expect(svid.spiffeId).toBe("spiffe://x0tta6bl4.mesh/node/node-a");
    for (const file of ["node-key.pem", "svid-key.pem", "svid.json", "registration.json"]) {
      expect((await stat(join(stateDir, "identity", file))).mode & 0o777, file).toBe(0o600);
    }
    const files = await pemFiles(svid, "a");
    const verified = await run("openssl", [
      "verify",
      "-CAfile",
      files.root,
      "-untrusted",
      files.intermediate,
      files.leaf,
    ]);
    expect(verified.stdout.trim()).toBe(`${files.leaf}: OK`);
    const text = (await run("openssl", ["x509", "-in", files.leaf, "-noout", "-text"])).stdout;
    const san = /X509v3 Subject Alternative Name: critical\n\s+(.+)\n/.exec(text)?.[1];
    expect(san).toBe("URI:spiffe://x0tta6bl4.mesh/node/node-a");
    expect(text).toMatch(/CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
  });

  it("rotates at half the SVID lifetime, counted from when it arrived", async () => {
    const clock = new ManualClock(Date.now());
    const agent = new IdentityAgent(
      { edgeUrl: cp.url, stateDir: join(work, "node-b"), joinToken: await cp.joinToken("node-b") },
      silentLogger,
      clock,
    );
    const first = await agent.start();
    const rotations: SvidMaterial[] = [];
    agent.on("svid", (svid) => rotations.push(svid));
    // Its notBefore is backdated for clock skew: half of what was left when it arrived.
    const half = (first.notAfter - first.receivedAt) / 2;
    await clock.advance(half - 1);
    expect(rotations).toEqual([]);
    await clock.advance(1);
    await waitFor(() => rotations.length >= 1, 5000, "rotation");
    agent.stop();
    expect(rotations[0]?.receivedAt).toBeCloseTo(first.receivedAt + half, 3);
    expect(rotations[0]?.certificates[0]).not.toBe(first.certificates[0]);
  });

  it("comes back after its SVID expired while offline, by proof of possession, without a token", async () => {
    const clock = new ManualClock(Date.now());
    const stateDir = join(work, "node-c");
    const before = new IdentityAgent(
      { edgeUrl: cp.url, stateDir, joinToken: await cp.joinToken("node-c") },
      silentLogger,
      clock,
    );
    const expired = await before.start();
    before.stop();
    await clock.advance(expired.notAfter - clock.now() + 1);
    const after = new IdentityAgent({ edgeUrl: cp.url, stateDir }, silentLogger, clock);
    const fresh = await after.start();
    after.stop();
    expect(fresh.certificates[0]).not.toBe(expired.certificates[0]); // issued anew, not the stored one
    expect(fresh.spiffeId).toBe(expired.spiffeId);
  });

  it("keeps a valid SVID across restarts without calling the edge, and keeps its node key", async () => {
    const stateDir = join(work, "node-d");
    const first = new IdentityAgent(
      { edgeUrl: cp.url, stateDir, joinToken: await cp.joinToken("node-d") },
      silentLogger,
    );
    const svid = await first.start();
    first.stop();
    const offline = new IdentityAgent({ edgeUrl: "http://127.0.0.1:9", stateDir }, silentLogger);
    expect((await offline.start()).certificates).toEqual(svid.certificates);
    offline.stop();
  });

  it("counts failed attestations, retried with backoff, while the edge is unreachable", async () => {
    const clock = new ManualClock(Date.now());
    const agent = new IdentityAgent(
      { edgeUrl: "http://127.0.0.1:9", stateDir: join(work, "node-f"), joinToken: await cp.joinToken("node-f") },
      silentLogger,
      clock,
    );
    const starting = agent.start();
    await waitFor(() => agent.failed.attest === 1 && clock.timers === 1, 5000, "the first failure's backoff");
    await clock.advance(499);
    expect(agent.failed.attest).toBe(1); // the first backoff is 500 ms
    await clock.advance(1);
    await waitFor(() => agent.failed.attest === 2 && clock.timers === 1, 5000, "the second failure's backoff");
    agent.stop();
    const refused = expect(starting).rejects.toThrow();
    await clock.advance(1000); // the second backoff, at most 1 s: then it sees it was stopped
    await refused;
    expect(agent.failed).toMatchObject({ rotate: 0, jwt_refresh: 0, bundle_refresh: 0 });
  });

  it("refuses to start without a join token or a registration", async () => {
    const agent = new IdentityAgent({ edgeUrl: cp.url, stateDir: join(work, "node-e") }, silentLogger);
    await expect(agent.start()).rejects.toThrow(/no join token/);
  });
});
