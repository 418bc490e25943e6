import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pemToDer } from "../../spiffe/index.js";
import { generateNodeKey, type KeyPair } from "./attest-request.js";

const ED25519 = { name: "Ed25519" } as const;
const EC = { name: "ECDSA", namedCurve: "P-256" } as const;

/** Private files are written whole (temp file + rename) and readable by the owner only. */
export async function writePrivate(file: string, data: string): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, data, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, file);
}

export async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

const toPem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g)
      ?.join("\n") ?? ""
  }\n-----END ${label}-----\n`;

export const exportPkcs8Pem = async (key: CryptoKey) =>
  toPem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", key));

/** Rebuilds a key pair from its PKCS#8 private key (the public half is derived through JWK). */
export async function importPkcs8(pem: string, kind: "ed25519" | "p256"): Promise<KeyPair> {
  const algorithm = kind === "ed25519" ? ED25519 : EC;
  const usages: KeyUsage[] = ["sign"];
  const privateKey = await crypto.subtle.importKey("pkcs8", pemToDer(pem), algorithm, true, usages);
  const { d: _d, key_ops: _ops, ...publicJwk } = await crypto.subtle.exportKey("jwk", privateKey);
  const publicKey = await crypto.subtle.importKey("jwk", publicJwk, algorithm, true, ["verify"]);
  return { privateKey, publicKey };
}

/** Where a node keeps its identity: `<stateDir>/identity/…`, private files mode 0600. */
export class Keystore {
  readonly dir: string;

  constructor(stateDir: string) {
    this.dir = join(stateDir, "identity");
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** The long-lived Ed25519 node key: created once, registered at first attestation, never sent. */
  async nodeKey(): Promise<KeyPair> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const existing = await readOptional(this.path("node-key.pem"));
    if (existing) return importPkcs8(existing, "ed25519");
    const key = await generateNodeKey();
    await writePrivate(this.path("node-key.pem"), await exportPkcs8Pem(key.privateKey));
    return key;
  }
}
