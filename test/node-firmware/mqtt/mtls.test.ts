import { execFile, spawn, spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sharedTopics, spiffeIdOf, topics, type CaSecret } from "../../../protocol/index.js";
import { parseBundle, type Bundle } from "../../../spiffe/index.js";
import { DenyView } from "../../../node-firmware/identity/deny-view.js";
import type { SvidMaterial } from "../../../node-firmware/identity/agent.js";
import { clientTlsOptions, type PeerPolicy } from "../../../node-firmware/identity/tls.js";
import { createLogger } from "../../../node-firmware/lib/log.js";
import { EmbeddedBroker } from "../../../node-firmware/mqtt/broker.js";
import { createTestPki, issueLeaf, TEST_TRUST_DOMAIN, type Leaf, type LeafProfile } from "../../helpers/pki.js";
import { x509 } from "../../../spiffe/index.js";
import { initCa } from "../../../ctl/ca/authority.js";
import { statusMessage, telemetrySample } from "../../helpers/fixtures.js";
import { waitFor } from "../../helpers/mqtt.js";

const TD = TEST_TRUST_DOMAIN;
const HOUR = 3600_000;
let ca: CaSecret;
let bundle: Bundle;
let broker: EmbeddedBroker;
let deny: DenyView;
let work: string;
const clients: MqttClient[] = [];
/** What the broker logged: why it refused each client. */
const brokerLog: string[] = [];

/** The bundle as the edge publishes it, made here with Node's own X.509 and JWK code, and read by ours. */
async function bundleOf(secret: CaSecret): Promise<Bundle> {
  const keys = secret.roots.map((pem) => {
    const root = new X509Certificate(pem);
    const jwk = root.publicKey.export({ format: "jwk" });
    return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, use: "x509-svid", x5c: [root.raw.toString("base64")] };
  });
  return (await parseBundle(TD, { keys, spiffe_sequence: 1, spiffe_refresh_hint: 300 })).bundle;
}

const usual = () => ({ notBefore: Date.now() - 10_000, notAfter: Date.now() + HOUR - 10_000 });

async function svid(
  spiffeId: string,
  validity = usual(),
  secret = ca,
  profile: LeafProfile = {},
): Promise<SvidMaterial & Leaf> {
  const leaf = await issueLeaf(secret, spiffeId, validity, profile);
  return {
    ...leaf,
    spiffeId,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    receivedAt: Date.now(),
    bundle,
    bundleDocument: { keys: [] },
    actionKeys: [],
  };
}

const gatewayPolicy = (): PeerPolicy => ({
  authorizer: { kind: "exact", spiffeId: spiffeIdOf.gateway(TD, "gw-1") },
  deny: new DenyView(),
});

const sessionOptions = (material: SvidMaterial, clientId: string) => ({
  protocolVersion: 5 as const,
  clientId,
  reconnectPeriod: 0,
  connectTimeout: 3000,
  ...clientTlsOptions(material, gatewayPolicy()),
});

async function connect(material: SvidMaterial, clientId: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, sessionOptions(material, clientId));
  clients.push(client);
  return client;
}

/** "accepted" once a session is up, else how the TLS handshake or the MQTT session failed. */
function refused(material: SvidMaterial, clientId = "node-x"): Promise<string> {
  const client = mqtt.connect(`mqtts://127.0.0.1:${broker.port}`, sessionOptions(material, clientId));
  clients.push(client);
  return new Promise((resolve) => {
    client.once("connect", () => {
      resolve("accepted");
    });
    client.once("error", (error) => {
      resolve(error.message);
    });
    client.once("close", () => {
      resolve("closed by broker");
    });
  });
}

beforeAll(async () => {
  ca = (await createTestPki()).caSecret;
  bundle = await bundleOf(ca);
  deny = new DenyView();
  work = await mkdtemp(join(tmpdir(), "x0-mtls-"));
  const gateway = await svid(spiffeIdOf.gateway(TD, "gw-1"));
  broker = await EmbeddedBroker.start(
    {
      host: "127.0.0.1",
      port: 0,
      tls: { svid: gateway, policy: { authorizer: { kind: "trust-domain", trustDomain: TD }, deny }, trustDomain: TD },
    },
    createLogger({}, "info", (line) => brokerLog.push(line)),
  );
});

const loggedSince = (mark: number) => brokerLog.slice(mark).join("\n");

afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker.close();
  await rm(work, { recursive: true, force: true });
});

const denyListOf = (revision: number, entries: { spiffeId?: string; serial?: string }[]) => ({
  v: 1 as const,
  generatedAt: new Date().toISOString(),
  revision,
  entries: entries.map((e) => ({ ...e, revokedAt: new Date().toISOString(), reason: "test" })),
});

describe("embedded broker over mTLS with SVIDs", () => {
  it("refuses nodes until it holds a deny list (its gateway accepted meanwhile)", async () => {
    expect(await refused(await svid(spiffeIdOf.node(TD, "node-30")), "node-30")).not.toBe("accepted");
    expect(broker.refusedClients.no_deny_list).toBe(1);
    expect(await refused(await svid(spiffeIdOf.gateway(TD, "gw-1")), "gw-1")).toBe("accepted");
    deny.update(denyListOf(0, []));
    expect(await refused(await svid(spiffeIdOf.node(TD, "node-30")), "node-30")).toBe("accepted");
  });

  it("closes a live session once the deny list names it, by SPIFFE ID or by serial, and only those", async () => {
    const byId = await connect(await svid(spiffeIdOf.node(TD, "node-31")), "node-31");
    const bySerialMaterial = await svid(spiffeIdOf.node(TD, "node-32"));
    const bySerial = await connect(bySerialMaterial, "node-32");
    const bystander = await connect(await svid(spiffeIdOf.node(TD, "node-33")), "node-33");
    const closed = (client: MqttClient) =>
      new Promise<void>((resolve) =>
        client.once("close", () => {
          resolve();
        }),
      );
    const serial = new x509.X509Certificate(bySerialMaterial.certificates[0] as string).serialNumber.toUpperCase();
    const before = broker.revokedSessions.closed;
    const both = Promise.all([closed(byId), closed(bySerial)]);
    deny.update(denyListOf(deny.revision + 1, [{ spiffeId: spiffeIdOf.node(TD, "node-31") }, { serial }]));
    await both;
    expect(broker.revokedSessions.closed - before).toBe(2);
    expect(bystander.connected).toBe(true);
    await bystander.publishAsync(topics.telemetry("node-33"), JSON.stringify(telemetrySample("node-33")), { qos: 1 });
    deny.update(denyListOf(deny.revision + 1, []));
  });

  it("accepts a node with a valid SVID, and holds it to its own topics", async () => {
    const node = await connect(await svid(spiffeIdOf.node(TD, "node-1")), "node-1");
    await node.publishAsync(topics.telemetry("node-1"), JSON.stringify(telemetrySample("node-1")), { qos: 1 });
    const foreign = await node
      .publishAsync(topics.status("node-2"), JSON.stringify(statusMessage("node-2", "online")), { qos: 1 })
      .catch((e: unknown) => e);
    expect(foreign).toMatchObject({ code: 0x87 });
    expect(await node.subscribeAsync(topics.telemetry("node-2"), { qos: 1 }).catch((e: unknown) => e)).toMatchObject({
      message: /Not authorized/,
    });
    expect((await node.subscribeAsync(topics.rejections("node-1"), { qos: 1 }))[0]?.qos).toBe(1);
  });

  it("carries a valid deny list from the gateway to the nodes, and refuses a forged one", async () => {
    const node = await connect(await svid(spiffeIdOf.node(TD, "node-13")), "node-13");
    const seen: string[] = [];
    node.on("message", (_t, p) => seen.push(p.toString()));
    await node.subscribeAsync(sharedTopics.denyList, { qos: 1 });
    const gateway = await connect(await svid(spiffeIdOf.gateway(TD, "gw-1")), "gw-1");
    const list = { v: 1, generatedAt: new Date().toISOString(), revision: 0, entries: [] };
    await gateway.publishAsync(sharedTopics.denyList, JSON.stringify(list), { qos: 1, retain: true });
    expect(
      await gateway.publishAsync(sharedTopics.denyList, '{"v":2}', { qos: 1 }).catch((e: unknown) => e),
    ).toMatchObject({ code: 0x87 });
    expect(
      await node.publishAsync(sharedTopics.denyList, JSON.stringify(list), { qos: 1 }).catch((e: unknown) => e),
    ).toMatchObject({ code: 0x87 });
    await vi.waitFor(() => {
      expect(seen).toEqual([JSON.stringify(list)]);
    });
  });

  it("requires the client id of the node's identity", async () => {
    expect(await refused(await svid(spiffeIdOf.node(TD, "node-3")), "node-4")).toMatch(
      /Identifier rejected|client identifier|closed/i,
    );
  });

  it.each([
    [
      "expired",
      () => svid(spiffeIdOf.node(TD, "node-5"), { notBefore: Date.now() - 2 * HOUR, notAfter: Date.now() - HOUR }),
      /client certificate refused: CERT_HAS_EXPIRED/,
      "untrusted_chain",
    ],
    [
      "lifetime over 1 h",
      () => svid(spiffeIdOf.node(TD, "node-6"), { notBefore: Date.now() - 10_000, notAfter: Date.now() + 2 * HOUR }),
      /lifetime 7210 s exceeds 3600 s/,
      "lifetime",
    ],
  ] as const)(
    "refuses a client certificate that is %s, and counts it by reason",
    async (what, make, logged, refusal) => {
      const material = await make();
      const mark = brokerLog.length;
      const before = broker.refusedClients[refusal] ?? 0;
      expect(await refused(material, "node-5")).not.toBe("accepted");
      expect(loggedSince(mark), what).toMatch(logged);
      expect(broker.refusedClients[refusal], what).toBe(before + 1);
    },
  );

  const U = x509.KeyUsageFlags;
  it.each([
    ["a CA (cA true)", { ca: true }, /leaf-ca/],
    ["able to sign certificates (keyCertSign)", { usages: U.digitalSignature | U.keyCertSign }, /leaf-key-cert-sign/],
    ["able to sign CRLs (cRLSign)", { usages: U.digitalSignature | U.cRLSign }, /leaf-crl-sign/],
  ] as const)("refuses a client leaf that is %s, which OpenSSL lets through", async (_what, profile, logged) => {
    const mark = brokerLog.length;
    const before = broker.refusedClients.svid_rules ?? 0;
    expect(await refused(await svid(spiffeIdOf.node(TD, "node-14"), usual(), ca, profile), "node-14")).not.toBe(
      "accepted",
    );
    expect(loggedSince(mark)).toMatch(logged);
    expect(broker.refusedClients.svid_rules).toBe(before + 1);
  });

  it("an agent refuses a broker whose leaf breaks the X.509-SVID rules", async () => {
    const rogue = await svid(spiffeIdOf.gateway(TD, "gw-1"), usual(), ca, { ca: true });
    const rogueBroker = await EmbeddedBroker.start(
      {
        host: "127.0.0.1",
        port: 0,
        tls: { svid: rogue, policy: { authorizer: { kind: "trust-domain", trustDomain: TD }, deny }, trustDomain: TD },
      },
      createLogger({}, "error", () => undefined),
    );
    try {
      const material = await svid(spiffeIdOf.node(TD, "node-15"));
      const error = await mqtt
        .connectAsync(`mqtts://127.0.0.1:${rogueBroker.port}`, {
          protocolVersion: 5,
          clientId: "node-15",
          reconnectPeriod: 0,
          connectTimeout: 3000,
          ...clientTlsOptions(material, gatewayPolicy()),
        })
        .then(
          (c) => {
            clients.push(c);
            return "accepted";
          },
          (e: unknown) => String(e),
        );
      expect(error).toMatch(/leaf-ca/);
    } finally {
      await rogueBroker.close();
    }
  });

  it("refuses another trust domain and a revoked identity", async () => {
    const other = (await initCa("other.mesh")).secret;
    const foreign = await svid(spiffeIdOf.node("other.mesh", "node-7"), undefined, other);
    let mark = brokerLog.length;
    expect(await refused({ ...foreign, bundle }, "node-7")).not.toBe("accepted");
    expect(loggedSince(mark)).toMatch(
      /client certificate refused: UNABLE_TO_(GET_ISSUER_CERT_LOCALLY|VERIFY_LEAF_SIGNATURE)/,
    );
    mark = brokerLog.length;
    const revoked = await svid(spiffeIdOf.node(TD, "node-8"));
    deny.update(denyListOf(deny.revision + 1, [{ spiffeId: revoked.spiffeId }]));
    expect(await refused(revoked, "node-8")).not.toBe("accepted");
    expect(loggedSince(mark)).toMatch(/node-8 is revoked/);
    expect(broker.refusedClients.revoked).toBe(1);
    expect(await refused(await svid(spiffeIdOf.node(TD, "node-12")), "node-12")).toBe("accepted");
    deny.update(denyListOf(deny.revision + 1, []));
  });

  it("refuses TLS 1.2 and a client without a certificate", async () => {
    const attempt = (options: object) =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({
          host: "127.0.0.1",
          port: broker.port,
          ca: ca.roots,
          rejectUnauthorized: false,
          ...options,
        });
        socket.once("secureConnect", () => {
          socket.once("data", () => {
            resolve("data");
          });
          socket.once("close", () => {
            resolve("closed after handshake");
          });
        });
        socket.once("error", (error: Error) => {
          resolve(error.message);
        });
      });
    const awaitedNode = await svid(spiffeIdOf.node(TD, "node-9"));
    expect(
      await attempt({
        minVersion: "TLSv1.2",
        maxVersion: "TLSv1.2",
        key: awaitedNode.keyPem,
        cert: awaitedNode.certificates.join("\n"),
      }),
    ).toMatch(/version|protocol/i);
    const mark = brokerLog.length;
    expect(await attempt({ minVersion: "TLSv1.3" })).toMatch(/closed after handshake/);
    expect(loggedSince(mark)).toMatch(/no client certificate/);
    expect(broker.refusedClients.no_certificate).toBe(1);
    expect(broker.refusedClients.handshake).toBeGreaterThanOrEqual(1); // the TLS 1.2 attempt
  });

  it("verifies the broker by SPIFFE ID, not host name", async () => {
    const material = await svid(spiffeIdOf.node(TD, "node-10"));
    const wrongServer: PeerPolicy = {
      authorizer: { kind: "exact", spiffeId: spiffeIdOf.gateway(TD, "gw-2") },
      deny: new DenyView(),
    };
    const error = await mqtt
      .connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
        protocolVersion: 5,
        clientId: "node-10",
        reconnectPeriod: 0,
        connectTimeout: 3000,
        ...clientTlsOptions(material, wrongServer),
      })
      .then(
        (c) => {
          clients.push(c);
          return "accepted";
        },
        (e: unknown) => String(e),
      );
    expect(error).toMatch(/gw-1 is not authorized here/);
  });
});

const hasMosquittoClients = spawnSync("sh", ["-c", "command -v mosquitto_sub"]).status === 0;

describe.runIf(hasMosquittoClients)("interop: Debian's mosquitto_sub", () => {
  it("mosquitto_sub connects with an SVID over MQTT 5 and receives; without one it cannot", async () => {
    const material = await svid(spiffeIdOf.node(TD, "node-11"));
    const files = { ca: join(work, "ca.pem"), cert: join(work, "cert.pem"), key: join(work, "key.pem") };
    await writeFile(files.ca, ca.roots.join("\n"));
    await writeFile(files.cert, material.certificates.join("\n"));
    await writeFile(files.key, material.keyPem);
    const args = [
      "-h",
      "127.0.0.1",
      "-p",
      String(broker.port),
      "-V",
      "mqttv5",
      "--cafile",
      files.ca,
      "--tls-version",
      "tlsv1.3",
      "--insecure",
      "-i",
      "node-11",
      "-t",
      topics.rejections("node-11"),
      "-C",
      "1",
      "-W",
      "5",
    ];
    // -d prints the client's protocol steps (line-buffered by stdbuf): its SUBACK says the subscription is in place.
    const subscriber = spawn("stdbuf", [
      "-oL",
      "mosquitto_sub",
      ...args,
      "-d",
      "--cert",
      files.cert,
      "--key",
      files.key,
    ]);
    let output = "";
    subscriber.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => subscriber.once("exit", resolve));
    await waitFor(() => output.includes("received SUBACK"), 5000, "mosquitto_sub's SUBACK");
    const gateway = await connect(await svid(spiffeIdOf.gateway(TD, "gw-1")), "gw-1");
    await gateway.publishAsync(
      topics.rejections("node-11"),
      JSON.stringify({ v: 1, topic: "t", reason: "schema", detail: "d", ts: Date.now() }),
      { qos: 1 },
    );
    expect(await exited).toBe(0);
    expect(output).toContain('"reason":"schema"');
    const anonymous = await promisify(execFile)("mosquitto_sub", args).catch(
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(typeof (anonymous as { code?: unknown }).code).toBe("number");
  });
});

if (!hasMosquittoClients)
  console.log(
    "[skip] mosquitto interop: mosquitto_sub not found — apt-get install mosquitto-clients (npm test installs it when run as root)",
  );
