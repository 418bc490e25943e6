import mqtt from "mqtt";
import { errorText, simTopic, type SimFault } from "../protocol/index.js";
import { parseBundle, parseSpiffeId } from "../spiffe/index.js";
import { attest, clientTlsOptions, DenyView, exportPkcs8Pem, importPkcs8 } from "../node-firmware/identity/index.js";
import { ApiError } from "./api.js";
import type { Credential } from "./credential.js";

/** Publishes a fault for a simulated node, as the admin, over mTLS with an X.509-SVID attested just now. */
export async function publishSimFault(
  credential: Credential,
  api: string,
  mqttUrl: string,
  nodeId: string,
  fault: SimFault,
): Promise<void> {
  const nodeKey = await importPkcs8(credential.keyPem, "ed25519");
  const { response, svidKey } = await attest(api, nodeKey, { spiffeId: credential.spiffeId });
  const parsed = parseSpiffeId(response.spiffeId);
  if (!parsed.ok) throw new ApiError(`the control plane returned an invalid SPIFFE ID: ${parsed.reason}`);
  const svid = {
    spiffeId: response.spiffeId,
    certificates: response.x509Svid.certificates,
    keyPem: await exportPkcs8Pem(svidKey.privateKey),
    notBefore: Date.now(),
    notAfter: Date.parse(response.x509Svid.expiresAt),
    receivedAt: Date.now(),
    bundle: (await parseBundle(parsed.id.trustDomain, response.bundle)).bundle,
    bundleDocument: response.bundle,
    actionKeys: response.actionKeys,
  };
  const tls = clientTlsOptions(svid, {
    authorizer: { kind: "trust-domain", trustDomain: parsed.id.trustDomain },
    deny: new DenyView(),
  });
  let client;
  try {
    client = await mqtt.connectAsync(mqttUrl, {
      protocolVersion: 5,
      clientId: `x0ctl-${crypto.randomUUID().slice(0, 8)}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      ...tls,
    });
  } catch (error) {
    throw new ApiError(`cannot reach the broker at ${mqttUrl}: ${errorText(error)}`);
  }
  try {
    await client.publishAsync(simTopic(nodeId), JSON.stringify(fault), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}
