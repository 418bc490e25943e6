/**
 * Identity throughput, as ratios to raw WebCrypto in the same run (this machine is noisy; the
 * ratios are what to compare). Targets: JWT-SVID minting ≥ 50 % of raw ES256 signing, and
 * verification ≥ 70 % of raw verification.
 * Runs the control plane's own code (workers/identity) on Node's WebCrypto; workerd's is the same
 * BoringSSL-backed API but is not what is measured here.
 */
import { initCa } from "../ctl/index.js";
import { controlPlaneAudience } from "../protocol/index.js";
import { createCsr, generateSvidKey } from "../node-firmware/identity/index.js";
import type { x509 } from "../spiffe/index.js";
import { checkCsr, issueX509Svid, loadAuthority, mintJwtSvid, verifyJwtSvid } from "../workers/identity/index.js";

const TD = "bench.mesh";
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);

async function rate(name: string, op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 50; i++) await op(); // warm-up
  let count = 0;
  const start = performance.now();
  while (performance.now() - start < DURATION_MS) {
    await op();
    count++;
  }
  const perSecond = (count * 1000) / (performance.now() - start);
  console.log(`${name.padEnd(34)} ${perSecond.toFixed(0).padStart(8)} /s`);
  return perSecond;
}

const ratio = (label: string, value: number, baseline: number, target?: number) => {
  const percent = (value / baseline) * 100;
  const verdict = target === undefined ? "" : `  (target ≥ ${target} %) ${percent >= target ? "ok" : "BELOW TARGET"}`;
  console.log(`${label.padEnd(34)} ${percent.toFixed(1).padStart(7)} %${verdict}`);
  return target === undefined || percent >= target;
};

const { secret } = await initCa(TD);
const authority = await loadAuthority(JSON.stringify(secret));
const audience = controlPlaneAudience(TD);
const spiffeId = `spiffe://${TD}/node/bench`;
const EC = { name: "ECDSA", hash: "SHA-256" } as const;
const payload = new TextEncoder().encode("x".repeat(200));
const publicKey = await (authority.signer.chain[0] as x509.X509Certificate).publicKey.export(
  { name: "ECDSA", namedCurve: "P-256" },
  ["verify"],
);
const signature = await crypto.subtle.sign(EC, authority.signer.privateKey, payload);
const token = (await mintJwtSvid(authority, spiffeId, [audience], 300, Date.now())).token;
const csr = await createCsr(await generateSvidKey(), spiffeId);
const checked = await checkCsr(csr.toString("pem"), spiffeId);

console.log(`identity benchmark, ${DURATION_MS} ms per measurement\n`);
const rawSign = await rate("raw WebCrypto P-256 sign", () =>
  crypto.subtle.sign(EC, authority.signer.privateKey, payload),
);
const rawVerify = await rate("raw WebCrypto P-256 verify", () =>
  crypto.subtle.verify(EC, publicKey, signature, payload),
);
const mint = await rate("JWT-SVID mint", () => mintJwtSvid(authority, spiffeId, [audience], 300, Date.now()));
const verify = await rate("JWT-SVID verify", () => verifyJwtSvid(authority, token, audience, Date.now()));
const issue = await rate("X.509-SVID issue (CSR checked+signed)", async () => {
  await checkCsr(csr.toString("pem"), spiffeId);
  return issueX509Svid(authority, spiffeId, checked.publicKey, 3600, Date.now());
});
console.log("");
const ok = [
  ratio("JWT-SVID mint / raw sign", mint, rawSign, 50),
  ratio("JWT-SVID verify / raw verify", verify, rawVerify, 70),
];
ratio("X.509-SVID issue / raw sign", issue, rawSign);
process.exitCode = ok.every(Boolean) ? 0 : 1;
