import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import {
  X509SvidError,
  checkX509SvidChain,
  parseX509Svid,
  verifyX509Svid,
  x509,
  type X509SvidRule,
} from "../../spiffe/index.js";
import { useTempDirs } from "../helpers/tmp.js";
import {
  CA_USAGES,
  LEAF_USAGES,
  TD,
  WORKLOAD,
  makeCert,
  makeIntermediate,
  makeLeaf,
  makeRoot,
  pem,
  pkcs8Pem,
  type Issued,
} from "./testdata.js";

const U = x509.KeyUsageFlags;
const HOUR = 3600_000;
let root: Issued;
let intermediate: Issued;
const tempDir = useTempDirs("x0-spiffe-");

beforeAll(async () => {
  root = await makeRoot();
  intermediate = await makeIntermediate(root);
});

interface Case {
  /** The chain presented, leaf first, and the bundle's roots. */
  chain: Issued[];
  roots: Issued[];
  /** What OpenSSL's `verify` (no purpose) says of the same chain: the rules it does not check show here. */
  openssl: "accepts" | "refuses";
}

/** One invalid case per rule, named by the rule it breaks. */
const invalid: Record<Exclude<X509SvidRule, "unparsable" | "empty-chain" | "key-mismatch">, () => Promise<Case>> = {
  "leaf-uri-san-count": async () => ({
    chain: [await makeLeaf(intermediate, { uris: [WORKLOAD, `spiffe://${TD}/other`] }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "leaf-spiffe-id": async () => ({
    chain: [await makeLeaf(intermediate, { uris: [`https://${TD}/workload`] }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "leaf-id-without-path": async () => ({
    chain: [await makeLeaf(intermediate, { uris: [`spiffe://${TD}`] }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "leaf-ca": async () => ({
    chain: [await makeLeaf(intermediate, { ca: true }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "leaf-no-digital-signature": async () => ({
    chain: [await makeLeaf(intermediate, { usages: U.keyEncipherment }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "leaf-key-cert-sign": async () => ({
    chain: [await makeLeaf(intermediate, { usages: LEAF_USAGES | U.keyCertSign }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "leaf-crl-sign": async () => ({
    chain: [await makeLeaf(intermediate, { usages: LEAF_USAGES | U.cRLSign }), intermediate],
    roots: [root],
    openssl: "accepts",
  }),
  "signing-not-ca": async () => {
    const notCa = await makeIntermediate(root, { ca: false });
    return { chain: [await makeLeaf(notCa), notCa], roots: [root], openssl: "refuses" };
  },
  "signing-no-key-cert-sign": async () => {
    const noSign = await makeIntermediate(root, { usages: U.cRLSign });
    return { chain: [await makeLeaf(noSign), noSign], roots: [root], openssl: "refuses" };
  },
  "signing-path-length": async () => {
    const strictRoot = await makeRoot("P-256", 0);
    const below = await makeIntermediate(strictRoot);
    return { chain: [await makeLeaf(below), below], roots: [strictRoot], openssl: "refuses" };
  },
  "chain-order": async () => {
    const other = await makeCert({ subject: "CN=unrelated", issuer: root, ca: true, usages: CA_USAGES });
    return { chain: [await makeLeaf(intermediate), other], roots: [root], openssl: "refuses" };
  },
  "chain-signature": async () => {
    const impostor = await makeRoot();
    return {
      chain: [await makeLeaf(intermediate, { signingKey: impostor.keys.privateKey }), intermediate],
      roots: [root],
      openssl: "refuses",
    };
  },
  untrusted: async () => {
    const otherRoot = await makeRoot();
    const otherIntermediate = await makeIntermediate(otherRoot);
    return { chain: [await makeLeaf(otherIntermediate), otherIntermediate], roots: [root], openssl: "refuses" };
  },
  "not-yet-valid": async () => ({
    chain: [
      await makeLeaf(intermediate, { notBefore: Date.now() + HOUR, notAfter: Date.now() + 2 * HOUR }),
      intermediate,
    ],
    roots: [root],
    openssl: "refuses",
  }),
  expired: async () => ({
    chain: [
      await makeLeaf(intermediate, { notBefore: Date.now() - 2 * HOUR, notAfter: Date.now() - HOUR }),
      intermediate,
    ],
    roots: [root],
    openssl: "refuses",
  }),
};

/** OpenSSL's own verdict on a chain: a second implementation for the signature and validity rules. */
async function opensslVerdict({ chain, roots }: Case): Promise<"accepts" | "refuses"> {
  const dir = await tempDir();
  const files = { roots: join(dir, "roots.pem"), untrusted: join(dir, "untrusted.pem"), leaf: join(dir, "leaf.pem") };
  await writeFile(files.roots, pem(...roots));
  await writeFile(files.untrusted, pem(...chain.slice(1)));
  await writeFile(files.leaf, pem(chain[0] as Issued));
  const args = [
    "verify",
    "-CAfile",
    files.roots,
    ...(chain.length > 1 ? ["-untrusted", files.untrusted] : []),
    files.leaf,
  ];
  return promisify(execFile)("openssl", args).then(
    () => "accepts" as const,
    () => "refuses" as const,
  );
}

const refusedRule = (promise: Promise<unknown>) =>
  promise.then(
    () => "accepted",
    (error: unknown) => (error instanceof X509SvidError ? error.rule : `threw ${String(error)}`),
  );

describe("X.509-SVID verification (X509-SVID.md §4, §5)", () => {
  it("accepts a valid SVID on every key type the bundle reads, as OpenSSL does", async () => {
    for (const kind of ["P-256", "P-384", "P-521", "RSA"] as const) {
      const kindRoot = await makeRoot(kind);
      const kindIntermediate = await makeIntermediate(kindRoot, { kind });
      const leaf = await makeLeaf(kindIntermediate, { kind });
      const verified = await verifyX509Svid([leaf.cert, kindIntermediate.cert], [kindRoot.cert], new Date(), TD);
      expect(verified.id.uri, kind).toBe(WORKLOAD);
      expect(
        verified.chain.map((c) => c.subject),
        kind,
      ).toEqual(["CN=leaf", "CN=intermediate", `CN=root ${kind}`]);
      expect(
        await opensslVerdict({ chain: [leaf, kindIntermediate], roots: [kindRoot], openssl: "accepts" }),
        kind,
      ).toBe("accepts");
    }
  });

  it("accepts a leaf signed by the root directly, and a chain that carries its root", async () => {
    const leaf = await makeLeaf(root);
    expect((await verifyX509Svid([leaf.cert], [root.cert], new Date())).chain).toHaveLength(2);
    const withRoot = await makeLeaf(intermediate);
    expect(
      (await verifyX509Svid([withRoot.cert, intermediate.cert, root.cert], [root.cert], new Date())).chain,
    ).toHaveLength(3);
  });

  it.each(Object.keys(invalid) as (keyof typeof invalid)[])("refuses %s, naming the rule", async (rule) => {
    const testCase = await invalid[rule]();
    const chain = testCase.chain.map((c) => c.cert);
    const roots = testCase.roots.map((c) => c.cert);
    expect(await refusedRule(verifyX509Svid(chain, roots, new Date(), TD))).toBe(rule);
    expect(await opensslVerdict(testCase), `OpenSSL on ${rule}`).toBe(testCase.openssl);
  });

  it("refuses an SVID of another trust domain against this bundle", async () => {
    const leaf = await makeLeaf(intermediate, { uris: ["spiffe://elsewhere.test/workload"] });
    expect(await refusedRule(verifyX509Svid([leaf.cert, intermediate.cert], [root.cert], new Date(), TD))).toBe(
      "untrusted",
    );
  });

  it("refuses a leaf with no keyUsage at all, and an empty or unparsable chain", async () => {
    const bare = await makeCert({ subject: "CN=bare", issuer: intermediate, ca: false, uris: [WORKLOAD] });
    expect(await refusedRule(verifyX509Svid([bare.cert, intermediate.cert], [root.cert], new Date()))).toBe(
      "leaf-no-digital-signature",
    );
    expect(await refusedRule(verifyX509Svid([], [root.cert], new Date()))).toBe("empty-chain");
    expect(await refusedRule(verifyX509Svid([new Uint8Array([0x30, 0x03, 1, 2, 3])], [root.cert], new Date()))).toBe(
      "unparsable",
    );
  });

  it("checks every rule but the signatures synchronously, for TLS hooks that cannot wait", async () => {
    const forged = (await invalid["chain-signature"]()).chain.map((c) => c.cert);
    expect(checkX509SvidChain(forged, [root.cert], new Date()).id.uri).toBe(WORKLOAD);
    expect(await refusedRule(verifyX509Svid(forged, [root.cert], new Date()))).toBe("chain-signature");
    const ca = (await invalid["leaf-ca"]()).chain.map((c) => c.cert);
    expect(() => checkX509SvidChain(ca, [root.cert], new Date())).toThrow(X509SvidError);
  });
});

describe("parseX509Svid (PEM chain and key)", () => {
  it("parses a chain and the leaf's own key, on EC and RSA", async () => {
    for (const kind of ["P-256", "RSA"] as const) {
      const kindRoot = await makeRoot(kind);
      const leaf = await makeLeaf(kindRoot, { kind });
      const svid = await parseX509Svid(pem(leaf), await pkcs8Pem(leaf.keys.privateKey));
      expect(svid.id.uri).toBe(WORKLOAD);
      expect(svid.certificates).toHaveLength(1);
      const signature = await crypto.subtle.sign(
        kind === "RSA" ? "RSASSA-PKCS1-v1_5" : { name: "ECDSA", hash: "SHA-256" },
        svid.privateKey,
        new Uint8Array([1]),
      );
      expect(signature.byteLength).toBeGreaterThan(0);
    }
  });

  it("refuses a key that is not the leaf's, a signing certificate that breaks the rules, and no certificate", async () => {
    const leaf = await makeLeaf(intermediate);
    const stranger = await makeLeaf(intermediate);
    expect(await refusedRule(parseX509Svid(pem(leaf, intermediate), await pkcs8Pem(stranger.keys.privateKey)))).toBe(
      "key-mismatch",
    );
    const rsa = await makeLeaf(await makeRoot("RSA"), { kind: "RSA" });
    expect(await refusedRule(parseX509Svid(pem(leaf), await pkcs8Pem(rsa.keys.privateKey)))).toBe("key-mismatch");
    const notCa = (await invalid["signing-not-ca"]()).chain;
    expect(await refusedRule(parseX509Svid(pem(...notCa), await pkcs8Pem((notCa[0] as Issued).keys.privateKey)))).toBe(
      "signing-not-ca",
    );
    expect(await refusedRule(parseX509Svid("", await pkcs8Pem(leaf.keys.privateKey)))).toBe("empty-chain");
  });
});
