import mqtt from "mqtt";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminToken, readCredential } from "../../ctl/credential.js";
import { IdentityAgent } from "../../node-firmware/identity/agent.js";
import { clientTlsOptions } from "../../node-firmware/identity/tls.js";
import { silentLogger } from "../../node-firmware/lib/log.js";
import { NodeList, spiffeIdOf, topics, type MeshNode } from "../../protocol/index.js";
import { GATEWAY_ID } from "../../stack/configs.js";
import { createJoinToken } from "../../stack/provision.js";
import { startStack, type Stack } from "../../stack/stack.js";
import { waitFor } from "../helpers/mqtt.js";
import { freePort, freePortRange } from "../helpers/processes.js";
import { DenyView } from "../../node-firmware/identity/deny-view.js";

const NODES = 3;
/** The outage lasts until the gateway holds this long's samples of every agent (1 Hz telemetry). */
const OUTAGE_MS = 60_000;
const TRUST_DOMAIN = "x0tta6bl4.mesh";

let stateDir: string;
let stack: Stack;
let metricsPort: number;
const output: string[] = [];

async function admin(): Promise<string> {
  return adminToken(await readCredential(stack.credentialFile), stack.apiUrl);
}

async function nodesNow(): Promise<MeshNode[]> {
  const res = await fetch(`${stack.apiUrl}/api/v1/mesh/nodes`, {
    headers: { authorization: `Bearer ${await admin()}` },
  });
  return NodeList.parse(await res.json()).nodes;
}

const byId = (nodes: MeshNode[]) => new Map(nodes.map((n) => [n.id, n]));

/** Every agent online and heard from after `since` (and in the last 3 s): D1 has caught up with it. */
async function waitForAllFresh(what: string, since = 0, timeoutMs = 60_000): Promise<MeshNode[]> {
  let nodes: MeshNode[] = [];
  await waitFor(
    async () => {
      try {
        nodes = await nodesNow();
      } catch {
        return false;
      }
      return (
        nodes.length === NODES + 1 &&
        nodes.every(
          (n) => n.status === "online" && Date.parse(n.lastSeen) > since && Date.now() - Date.parse(n.lastSeen) < 3000,
        )
      );
    },
    timeoutMs,
    `${what}; output so far:\n${output.slice(-30).join("\n")}`,
  );
  return nodes;
}

/** Items the gateway holds for the edge, from its own /metrics. */
async function gatewayQueue(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${String(metricsPort)}/metrics`)).text();
  // Every series carries the agent's default labels (node, role).
  return Number(/^x0_edge_queue_items\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

const agentsAlive = () =>
  [...stack.agents.values()].every((a) => a.child.exitCode === null && a.child.signalCode === null);

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "x0-outage-"));
  stack = await startStack({
    nodes: NODES,
    port: await freePort(),
    mqttPort: await freePort(),
    metricsPort: (metricsPort = await freePortRange(NODES + 1)),
    seed: 1,
    stateDir,
    print: (line) => output.push(line),
  });
  await waitForAllFresh("stack up");
});

afterAll(async () => {
  await stack.stop();
  await rm(stateDir, { recursive: true, force: true });
});

describe("the local stack through outages", () => {
  it(
    `rides out the edge being down for ${String(OUTAGE_MS / 1000)} s: nodes keep working, no sample lost, the backlog replayed after`,
    async () => {
      const before = byId(await nodesNow());
      await stack.stopEdge();
      const samples = (NODES + 1) * (OUTAGE_MS / 1000);
      await waitFor(async () => (await gatewayQueue()) >= samples, 2 * OUTAGE_MS, `${String(samples)} items queued`);
      expect(agentsAlive()).toBe(true);
      const backAt = Date.now();
      await stack.startEdge();
      const after = byId(await waitForAllFresh("caught up after the outage", Date.now() + 1000));
      console.log(
        `[measure] ${String(OUTAGE_MS / 1000)} s edge outage: backlog replayed and every node fresh ${String(Date.now() - backAt)} ms after the edge came back`,
      );
      for (const [id, node] of after) {
        const earlier = before.get(id);
        expect(node.samplesMissing, id).toBe(0);
        // 1 Hz telemetry: the outage's samples are all in D1 now.
        expect(node.samplesStored - (earlier?.samplesStored ?? 0), id).toBeGreaterThanOrEqual(OUTAGE_MS / 1000);
      }
    },
    3 * OUTAGE_MS,
  );

  it("rides out a broker restart (the gateway hosts it): nodes reconnect and resume, no sample lost", async () => {
    const before = byId(await nodesNow());
    const restartAt = Date.now();
    await stack.restartAgent(GATEWAY_ID);
    const after = byId(await waitForAllFresh("all back after the broker restart", Date.now() + 1000));
    console.log(
      `[measure] broker (gateway) restart: every node fresh again ${String(Date.now() - restartAt)} ms after SIGTERM`,
    );
    for (const [id, node] of after) {
      expect(node.samplesMissing, id).toBe(0);
      expect(node.samplesStored, id).toBeGreaterThan(before.get(id)?.samplesStored ?? 0);
    }
  });

  it("rejects garbage on every topic and endpoint: answered, nothing crashes, nothing stored", async () => {
    const nodesBefore = await nodesNow();
    // An attested node of our own, publishing nothing but garbage.
    const identityDir = await mkdtemp(join(tmpdir(), "x0-intruder-"));
    const jwt = await admin();
    const identity = new IdentityAgent(
      {
        edgeUrl: stack.apiUrl,
        stateDir: identityDir,
        joinToken: await createJoinToken(stack.apiUrl, jwt, "intruder-1", "node"),
      },
      silentLogger,
    );
    const svid = await identity.start();
    const client = await mqtt.connectAsync(stack.mqttUrl, {
      ...clientTlsOptions(svid, {
        authorizer: { kind: "exact", spiffeId: spiffeIdOf.gateway(TRUST_DOMAIN, GATEWAY_ID) },
        deny: new DenyView(),
      }),
      protocolVersion: 5,
      clientId: "intruder-1",
      reconnectPeriod: 0,
    });
    const garbage = [
      Buffer.from("{{{"),
      Buffer.from(JSON.stringify({ v: 2 })),
      Buffer.from("null"),
      Buffer.alloc(70_000, 0x41),
      Buffer.from([0xff, 0xfe, 0x00]),
    ];
    const own = [topics.telemetry("intruder-1"), topics.status("intruder-1"), topics.results("intruder-1")];
    const others = [topics.telemetry("node-1"), topics.actions("node-1"), "x0/v1/anything", "not/x0/at/all"];
    const refusals: number[] = [];
    for (const topic of [...own, ...others]) {
      for (const payload of garbage) {
        await client.publishAsync(topic, payload, { qos: 1 }).then(
          () => refusals.push(0),
          (error: unknown) => refusals.push((error as { code?: number }).code ?? -1),
        );
      }
    }
    expect(refusals.filter((code) => code >= 0x80)).toHaveLength(refusals.length); // every one refused on its PUBACK
    await client.endAsync();
    identity.stop();
    await rm(identityDir, { recursive: true, force: true });

    // Every route: no credentials, broken JSON, the wrong media type, an oversized body.
    const doc = (await (
      await fetch(`${stack.apiUrl}/api/v1/openapi.json`, { headers: { authorization: `Bearer ${jwt}` } })
    ).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() })),
    );
    expect(routes.length).toBeGreaterThanOrEqual(12);
    let answered = 0;
    for (const { path, method } of routes) {
      const attempts: RequestInit[] =
        method === "GET"
          ? [{ method }, { method, headers: { authorization: "Bearer not.a.jwt" } }]
          : [
              { method, body: "{}", headers: { "content-type": "application/json" } },
              { method, body: "{{{", headers: { "content-type": "application/json", authorization: `Bearer ${jwt}` } },
              {
                method,
                body: "x=1",
                headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${jwt}` },
              },
              {
                method,
                body: "[".repeat(2 * 1024 * 1024),
                headers: { "content-type": "application/json", authorization: `Bearer ${jwt}` },
              },
            ];
      for (const init of attempts) {
        const res = await fetch(`${stack.apiUrl}${path}`, init);
        const body = await res.text();
        if (res.status < 400) continue; // public routes (bundle, nonce, version) answer anyone
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        expect(res.headers.get("content-type"), `${method} ${path}`).toMatch(/^application\/problem\+json/);
        expect((JSON.parse(body) as { type: string }).type, `${method} ${path}`).toMatch(
          /^urn:x0tta6bl4:problem:[a-z-]+$/,
        );
        answered++;
      }
    }
    console.log(
      `[measure] garbage: ${String(refusals.length)} MQTT publishes refused on PUBACK, ${String(answered)} HTTP requests answered with problem+json over ${String(routes.length)} routes`,
    );

    expect(agentsAlive()).toBe(true);
    const nodesAfter = await waitForAllFresh("mesh unaffected by garbage");
    expect(nodesAfter.map((n) => n.id)).toEqual(nodesBefore.map((n) => n.id)); // intruder-1 stored nothing
    expect(nodesAfter.every((n) => n.samplesMissing === 0)).toBe(true);
  });

  it("revokes within 5 s: the live session of a revoked node is closed by the gateway, it cannot come back, and the edge stores nothing more of it", async () => {
    const identityDir = await mkdtemp(join(tmpdir(), "x0-revokee-"));
    const jwt = await admin();
    const identity = new IdentityAgent(
      {
        edgeUrl: stack.apiUrl,
        stateDir: identityDir,
        joinToken: await createJoinToken(stack.apiUrl, jwt, "revokee-1", "node"),
      },
      silentLogger,
    );
    const svid = await identity.start();
    const options = {
      ...clientTlsOptions(svid, {
        authorizer: { kind: "exact" as const, spiffeId: spiffeIdOf.gateway(TRUST_DOMAIN, GATEWAY_ID) },
        deny: new DenyView(),
      }),
      protocolVersion: 5 as const,
      clientId: "revokee-1",
      reconnectPeriod: 0,
    };
    const client = await mqtt.connectAsync(stack.mqttUrl, options);
    let seq = 0;
    const publishing = setInterval(() => {
      client.publish(
        topics.telemetry("revokee-1"),
        JSON.stringify({
          v: 1,
          nodeId: "revokee-1",
          role: "node",
          seq: ++seq,
          ts: Date.now(),
          firmware: "0.1.0",
          uptimeS: 1,
          neighbors: [],
          counters: { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 },
          process: { rssBytes: 1, cpuPercent: 0 },
        }),
        { qos: 1 },
        () => undefined,
      );
    }, 100);
    await waitFor(
      async () => (await nodesNow()).some((n) => n.id === "revokee-1" && n.samplesStored > 3),
      15_000,
      "revokee-1 stored",
    );
    const closed = new Promise<number>((resolve) =>
      client.once("close", () => {
        resolve(performance.now());
      }),
    );
    const revokedAt = performance.now();
    const res = await fetch(`${stack.apiUrl}/api/v1/identity/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      body: JSON.stringify({
        spiffeId: spiffeIdOf.node(TRUST_DOMAIN, "revokee-1"),
        reason: "stack test: router stolen",
      }),
    });
    expect(res.status).toBe(201);
    const timeout = new Promise<number>((resolve) =>
      setTimeout(() => {
        resolve(Number.NaN);
      }, 10_000),
    );
    const closedAfterMs = (await Promise.race([closed, timeout])) - revokedAt;
    if (Number.isNaN(closedAfterMs)) console.log(output.slice(-40).join("\n"));
    clearInterval(publishing);
    expect(closedAfterMs).toBeLessThan(5000);
    const storedAtClose = (await nodesNow()).find((n) => n.id === "revokee-1")?.samplesStored;
    const retry = mqtt.connect(stack.mqttUrl, options);
    const again = await new Promise<string>((resolve) => {
      retry.once("connect", () => {
        resolve("accepted");
      });
      retry.once("error", (error) => {
        resolve(error.message);
      });
      retry.once("close", () => {
        resolve("closed by the gateway");
      });
    });
    await retry.endAsync(true);
    expect(again).not.toBe("accepted");
    const settled = Date.now() + 1000;
    await waitFor(
      async () => (await nodesNow()).filter((n) => n.id !== "revokee-1").every((n) => Date.parse(n.lastSeen) > settled),
      30_000,
      "the mesh heard from after the revocation",
    );
    expect((await nodesNow()).find((n) => n.id === "revokee-1")?.samplesStored).toBe(storedAtClose);
    console.log(
      `[measure] revocation on the local stack: the revoked node's live MQTT session closed ${closedAfterMs.toFixed(0)} ms after POST /identity/revoke (bound 5000 ms); reconnect refused`,
    );
    identity.stop();
    await rm(identityDir, { recursive: true, force: true });
  });

  it("counts a burst of anonymous bad requests instead of storing each: D1 grows by a bounded number of counters", async () => {
    const db = await stack.database();
    const size = async () => {
      const audit = await db
        .prepare("SELECT count(*) AS rows, coalesce(sum(length(detail)), 0) AS bytes FROM audit_log")
        .first<{ rows: number; bytes: number }>();
      const refused = await db
        .prepare("SELECT count(*) AS rows, coalesce(sum(length(last_detail)), 0) AS bytes FROM refusals")
        .first<{ rows: number; bytes: number }>();
      return {
        auditRows: audit?.rows ?? 0,
        refusalRows: refused?.rows ?? 0,
        bytes: (audit?.bytes ?? 0) + (refused?.bytes ?? 0),
      };
    };
    const counted = async () =>
      (
        await db
          .prepare(
            "SELECT coalesce(sum(count), 0) AS n FROM refusals WHERE reason IN ('attest.invalid', 'auth.jwt-svid')",
          )
          .first<{ n: number }>()
      )?.n ?? 0;
    const before = await size();
    const countedBefore = await counted();
    const BURST = 100;
    const hugeKey = "k".repeat(200_000);
    for (let i = 0; i < BURST; i++) {
      const attest = await fetch(`${stack.apiUrl}/api/v1/identity/attest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ [hugeKey]: 1 }),
      });
      expect(attest.status).toBe(400);
      expect((await attest.text()).length).toBeLessThan(8192);
      expect(
        (await fetch(`${stack.apiUrl}/api/v1/mesh/nodes`, { headers: { authorization: "Bearer a.b.c" } })).status,
      ).toBe(401);
    }
    await waitFor(async () => (await counted()) - countedBefore === 2 * BURST, 5000, "every refusal counted");
    const after = await size();
    // Two reasons, one source, at most two windows: four counters, each detail clipped to 256 characters.
    expect(after.auditRows).toBe(before.auditRows);
    expect(after.refusalRows - before.refusalRows).toBeLessThanOrEqual(4);
    expect(after.bytes - before.bytes).toBeLessThanOrEqual(4 * 256);
    console.log(
      `[measure] ${String(2 * BURST)} anonymous bad requests (half with a 200 kB unknown key): audit_log +${String(after.auditRows - before.auditRows)} rows, refusals +${String(after.refusalRows - before.refusalRows)} rows, +${String(after.bytes - before.bytes)} bytes of detail`,
    );
  });
});
