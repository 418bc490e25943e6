import { generateKeyPairSync } from "node:crypto";
import { FlattenedSign, flattenedVerify } from "jose";
import { describe, expect, it } from "vitest";
import { importEnvelopeKey, openEnvelope, sealEnvelope } from "../../spiffe/index.js";

const payload = new TextEncoder().encode('{"v":1,"kind":"reroute"}');

async function ed25519() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  return { ...pair, raw: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)) };
}

describe("signed envelope (JWS flattened JSON serialization, EdDSA)", () => {
  it("is a standard JWS: jose verifies what we seal, and we open what jose signs", async () => {
    const key = await ed25519();
    const sealed = await sealEnvelope(payload, key.privateKey, "k1");
    const verified = await flattenedVerify(sealed, key.publicKey);
    expect(verified.protectedHeader).toEqual({ alg: "EdDSA", kid: "k1" });
    expect(new TextDecoder().decode(verified.payload)).toBe(new TextDecoder().decode(payload));

    const nodeKey = generateKeyPairSync("ed25519");
    const signed = await new FlattenedSign(payload)
      .setProtectedHeader({ alg: "EdDSA", kid: "node" })
      .sign(nodeKey.privateKey);
    const raw = new Uint8Array(Buffer.from(nodeKey.publicKey.export({ format: "jwk" }).x as string, "base64url"));
    const opened = await openEnvelope(
      { protected: signed.protected ?? "", payload: signed.payload, signature: signed.signature },
      new Map([["node", await importEnvelopeKey(raw)]]),
    );
    expect(opened.ok && opened.kid).toBe("node");
  });

  it("refuses an unknown kid, another key's signature, a changed payload and another algorithm", async () => {
    const key = await ed25519();
    const other = await ed25519();
    const keys = new Map([["k1", key.publicKey]]);
    const sealed = await sealEnvelope(payload, key.privateKey, "k1");
    const refusal = async (envelope: typeof sealed, trusted: ReadonlyMap<string, CryptoKey> = keys) => {
      const opened = await openEnvelope(envelope, trusted);
      return opened.ok ? "opened" : opened.refusal;
    };
    expect(await refusal(sealed)).toBe("opened");
    expect(await refusal(sealed, new Map([["k2", key.publicKey]]))).toBe("unknown_key");
    expect(
      await refusal({ ...(await sealEnvelope(payload, other.privateKey, "k2")), protected: sealed.protected }),
    ).toBe("bad_signature");
    expect(await refusal({ ...sealed, payload: Buffer.from('{"v":1,"kind":"isolate"}').toString("base64url") })).toBe(
      "bad_signature",
    );
    const hs = await new FlattenedSign(payload)
      .setProtectedHeader({ alg: "HS256", kid: "k1" })
      .sign(new Uint8Array(32));
    expect(await refusal({ protected: hs.protected ?? "", payload: hs.payload, signature: hs.signature })).toBe(
      "malformed",
    );
  });
});
