import { X509Certificate, createPublicKey, generateKeyPairSync } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { BundleError, marshalBundle, parseBundle } from "../../spiffe/index.js";
import { TD, makeRoot, type Issued, type KeyKind } from "./testdata.js";

/** JWKs made by Node's own crypto, not ours: a second implementation for every key the reader takes. */
function nodeJwk(cert: Issued) {
  const node = new X509Certificate(Buffer.from(cert.cert.rawData));
  return {
    ...(node.publicKey.export({ format: "jwk" }) as Record<string, string>),
    x5c: [node.raw.toString("base64")],
  };
}

const x509Key = (root: Issued) => ({ ...nodeJwk(root), use: "x509-svid" });
const jwtKey = (curve: "P-256" | "P-384" | "P-521" | "RSA", kid: string): Record<string, string> => {
  const { publicKey } =
    curve === "RSA"
      ? generateKeyPairSync("rsa", { modulusLength: 2048 })
      : generateKeyPairSync("ec", { namedCurve: curve });
  return { ...(publicKey.export({ format: "jwk" }) as Record<string, string>), use: "jwt-svid", kid };
};

const roots: Partial<Record<KeyKind, Issued>> = {};
beforeAll(async () => {
  for (const kind of ["P-256", "P-384", "P-521", "RSA"] as const) roots[kind] = await makeRoot(kind);
});
const root = (kind: KeyKind) => roots[kind] as Issued;

async function refusal(json: unknown): Promise<string> {
  return parseBundle(TD, json).then(
    () => "accepted",
    (error: unknown) => (error instanceof BundleError ? error.message : `threw ${String(error)}`),
  );
}

describe("bundle reader (SPIFFE Trust Domain and Bundle §4)", () => {
  it("reads EC P-256, P-384, P-521 and RSA roots and JWT keys", async () => {
    const keys = [
      x509Key(root("P-256")),
      x509Key(root("P-384")),
      x509Key(root("P-521")),
      x509Key(root("RSA")),
      jwtKey("P-256", "a"),
      jwtKey("P-384", "b"),
      jwtKey("P-521", "c"),
      jwtKey("RSA", "d"),
    ];
    const { bundle, ignored } = await parseBundle(TD, { keys, spiffe_sequence: 7, spiffe_refresh_hint: 60 });
    expect(bundle.x509Authorities.map((c) => c.subject)).toEqual([
      "CN=root P-256",
      "CN=root P-384",
      "CN=root P-521",
      "CN=root RSA",
    ]);
    expect([...bundle.jwtAuthorities.keys()]).toEqual(["a", "b", "c", "d"]);
    expect(bundle.sequence).toBe(7);
    expect(bundle.refreshHintS).toBe(60);
    expect(ignored).toEqual([]);
  });

  it("takes a bundle with no spiffe_sequence and no spiffe_refresh_hint", async () => {
    const { bundle } = await parseBundle(TD, { keys: [x509Key(root("P-256"))] });
    expect(bundle.sequence).toBeUndefined();
    expect(bundle.refreshHintS).toBeUndefined();
    expect(bundle.x509Authorities).toHaveLength(1);
  });

  it("ignores, and reports, a key of unknown use, of an unsupported kty, or on an unsupported curve", async () => {
    const ed = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" });
    const keys = [
      { ...x509Key(root("P-256")), use: "x509-svid-v2" },
      { ...jwtKey("P-256", "a"), use: undefined },
      { ...ed, use: "jwt-svid", kid: "ed" },
      { kty: "EC", crv: "secp256k1", x: "AA", y: "AA", use: "jwt-svid", kid: "k1" },
      x509Key(root("RSA")),
    ];
    const { bundle, ignored } = await parseBundle(TD, { keys });
    expect(ignored.map((i) => [i.index, i.reason])).toEqual([
      [0, 'unknown use "x509-svid-v2"'],
      [1, "unknown use null"],
      [2, 'unsupported kty "OKP"'],
      [3, 'unsupported curve "secp256k1"'],
    ]);
    expect(bundle.x509Authorities).toHaveLength(1);
    expect(bundle.jwtAuthorities.size).toBe(0);
  });

  it.each([
    ["not-a-jwk-set", () => [], /JSON object/],
    ["keys-missing", () => ({ spiffe_sequence: 1 }), /"keys" array/],
    ["key-without-kty", () => ({ keys: [{ use: "jwt-svid", kid: "a" }] }), /no "kty"/],
    [
      "x509-svid-without-x5c",
      () => ({ keys: [{ ...x509Key(root("P-256")), x5c: undefined }] }),
      /exactly one certificate/,
    ],
    [
      "x509-svid-with-two-x5c",
      () => ({
        keys: [{ ...x509Key(root("P-256")), x5c: [...nodeJwk(root("P-256")).x5c, ...nodeJwk(root("P-384")).x5c] }],
      }),
      /exactly one certificate/,
    ],
    [
      "x509-svid-x5c-not-der",
      () => ({ keys: [{ ...x509Key(root("P-256")), x5c: ["bm90IGEgY2VydA=="] }] }),
      /not a base64 DER certificate/,
    ],
    [
      "x509-svid-params-of-another-key",
      () => ({
        keys: [{ ...jwtKey("P-256", "z"), use: "x509-svid", kid: undefined, x5c: nodeJwk(root("P-256")).x5c }],
      }),
      /not the public key of its x5c/,
    ],
    ["jwt-svid-without-kid", () => ({ keys: [{ ...jwtKey("P-256", "a"), kid: undefined }] }), /must have a "kid"/],
    ["jwt-svid-duplicate-kid", () => ({ keys: [jwtKey("P-256", "a"), jwtKey("P-384", "a")] }), /appears twice/],
    [
      "ec-point-not-on-curve",
      () => ({ keys: [{ ...jwtKey("P-256", "a"), y: jwtKey("P-256", "b").y }] }),
      /do not form a public key/,
    ],
    ["sequence-negative", () => ({ keys: [], spiffe_sequence: -1 }), /spiffe_sequence/],
    ["sequence-not-integer", () => ({ keys: [], spiffe_sequence: 1.5 }), /spiffe_sequence/],
    ["refresh-hint-zero", () => ({ keys: [], spiffe_refresh_hint: 0 }), /spiffe_refresh_hint/],
  ] as const)("refuses %s", async (_rule, make, message) => {
    expect(await refusal(make())).toMatch(message);
  });

  it("refuses a trust domain name that is not one", async () => {
    await expect(parseBundle("Example.org", { keys: [] })).rejects.toThrow(/not a trust domain name/);
  });

  it("writes what it reads: every key of the written set imports in Node as the certificate's own key", async () => {
    const keys = [x509Key(root("P-384")), x509Key(root("RSA")), jwtKey("P-521", "c"), jwtKey("RSA", "d")];
    const { bundle } = await parseBundle(TD, { keys, spiffe_sequence: 3 });
    const written = await marshalBundle(bundle);
    expect(written.spiffe_sequence).toBe(3);
    expect(written).not.toHaveProperty("spiffe_refresh_hint");
    for (const [index, key] of written.keys.entries()) {
      const { use, kid, x5c, ...params } = key;
      expect(use).toBe((keys[index] as { use: string }).use);
      expect(kid).toBe((keys[index] as { kid?: string }).kid);
      const nodeKey = createPublicKey({ key: params as never, format: "jwk" });
      if (x5c)
        expect(nodeKey.equals(new X509Certificate(Buffer.from(x5c[0] as string, "base64")).publicKey)).toBe(true);
    }
    expect((await parseBundle(TD, written)).bundle.jwtAuthorities.size).toBe(2);
  });
});
