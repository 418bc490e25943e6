#!/usr/bin/env node
import { parseArgs } from "node:util";
import {
  NonceResponse,
  PROBLEM_CONTENT_TYPE,
  RELEASE,
  SpiffeBundle,
  VersionInfo,
  errorText,
} from "../protocol/index.js";
import { parseBundle } from "../spiffe/index.js";

/**
 * `npm run smoke -- --api URL`: a deployed (or local) control plane answers as this release
 * should, without credentials: health, version, a trust bundle that reads by the SPIFFE rules, a
 * fresh nonce, and problem+json for a call without a token. Exit 0 when every check passes.
 */
const USAGE = "Usage: npm run smoke -- --api URL [--trust-domain TD]   (default trust domain x0tta6bl4.mesh)";

interface Target {
  api: string;
  trustDomain: string;
}
type Check = (target: Target) => Promise<string>;

async function json(api: string, path: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(new URL(path, api), { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${path}: HTTP ${String(res.status)}`);
  return res.json();
}

const CHECKS: Record<string, Check> = {
  health: async ({ api }) => {
    const res = await fetch(new URL("/healthz", api), { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`HTTP ${String(res.status)}`);
    return "200";
  },
  version: async ({ api }) => {
    const info = VersionInfo.parse(await json(api, "/api/v1/version"));
    if (info.version !== RELEASE) throw new Error(`serves ${info.version}, this release is ${RELEASE}`);
    return info.version;
  },
  bundle: async ({ api, trustDomain }) => {
    const document = SpiffeBundle.parse(await json(api, "/api/v1/identity/bundle"));
    const { bundle } = await parseBundle(trustDomain, document);
    return `${String(bundle.x509Authorities.length)} root(s), ${String(bundle.jwtAuthorities.size)} JWT key(s)`;
  },
  nonce: async ({ api }) => `expires ${NonceResponse.parse(await json(api, "/api/v1/identity/nonce")).expiresAt}`,
  "refuses without a token": async ({ api }) => {
    const res = await fetch(new URL("/api/v1/mesh/nodes", api), { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 401 || !res.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE))
      throw new Error(`HTTP ${String(res.status)} ${String(res.headers.get("content-type"))}`);
    return "401 problem+json";
  },
};

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { api: { type: "string" }, "trust-domain": { type: "string" } } });
  if (!values.api) {
    console.error(USAGE);
    return 2;
  }
  let failed = 0;
  for (const [name, check] of Object.entries(CHECKS)) {
    try {
      console.log(
        `ok   ${name}: ${await check({ api: values.api, trustDomain: values["trust-domain"] ?? "x0tta6bl4.mesh" })}`,
      );
    } catch (error) {
      failed++;
      console.log(`FAIL ${name}: ${errorText(error)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(errorText(error));
    process.exit(1);
  },
);
