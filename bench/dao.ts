/**
 * Governance, measured in one run:
 *  1. Signed votes verified and stored per second through POST /api/v1/dao/msg (workerd with local
 *     D1: the envelope's checks, viem's EIP-712 recovery, the proposal, the voter's power at the
 *     block, the write), against viem's `verifyTypedData` per second on the same envelopes in this
 *     process: the verification alone, which every vote must pay. Rounds alternate the two; each
 *     figure is the median of the rounds. The endpoint gets `BENCH_DAO_CONCURRENCY` requests in
 *     flight (default 4), as clients would send them.
 *  2. The tally: 100,000 votes of each voting type (`BENCH_DAO_TALLY`), scored as the close step
 *     scores them (median of 3).
 *   npm run bench:dao
 * Goal: the endpoint at ≥ 80 % of raw verification.
 */
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { verifyTypedData } from "viem";
import { adminToken } from "../ctl/index.js";
import { prng } from "../node-firmware/mesh/index.js";
import { SNAPSHOT_DOMAIN, SNAPSHOT_TYPES, type ProposalType, type VoteChoice } from "../protocol/index.js";
import { scoresOf, tallyOf } from "../workers/dao/index.js";
import { startBenchControlPlane } from "./control-plane.js";
import { median } from "./stats.js";

const VOTERS = Number(process.env.BENCH_DAO_VOTERS ?? 400);
const ROUNDS = Number(process.env.BENCH_DAO_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_DAO_CONCURRENCY ?? 4);
const TALLY_VOTES = Number(process.env.BENCH_DAO_TALLY ?? 100_000);
const SPACE = "bench.x0";
const DOMAIN = SNAPSHOT_DOMAIN;
const PROPOSAL_TYPES = SNAPSHOT_TYPES.proposal;
const VOTE_TYPES = SNAPSHOT_TYPES.vote;

interface Envelope {
  address: `0x${string}`;
  sig: `0x${string}`;
  data: {
    domain: typeof DOMAIN;
    types: Record<string, { name: string; type: string }[]>;
    message: Record<string, unknown>;
  };
}

async function sign(account: PrivateKeyAccount, types: Envelope["data"]["types"], message: Record<string, unknown>) {
  const full = { from: account.address, ...message };
  const primaryType = Object.keys(types)[0] ?? "";
  const sig = await account.signTypedData({ domain: DOMAIN, types, primaryType, message: full });
  return { address: account.address, sig, data: { domain: DOMAIN, types, message: full } } satisfies Envelope;
}

async function post(api: string, envelope: Envelope): Promise<string> {
  const response = await fetch(`${api}/api/v1/dao/msg`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(envelope),
  });
  const body = (await response.json()) as { id?: string; error_description?: string };
  if (!response.ok || !body.id) throw new Error(`refused: ${body.error_description ?? String(response.status)}`);
  return body.id;
}

async function throughEndpoint(api: string, envelopes: readonly Envelope[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < envelopes.length) await post(api, envelopes[next++] as Envelope);
    }),
  );
  return envelopes.length / ((performance.now() - start) / 1000);
}

async function rawVerification(envelopes: readonly Envelope[]): Promise<number> {
  const start = performance.now();
  for (const e of envelopes) {
    const ok = await verifyTypedData({ ...e.data, primaryType: "Vote", address: e.address, signature: e.sig });
    if (!ok) throw new Error("a bench envelope does not verify");
  }
  return envelopes.length / ((performance.now() - start) / 1000);
}

async function setUp(api: string, token: string, admin: PrivateKeyAccount, voters: readonly PrivateKeyAccount[]) {
  const put = async (path: string, body: unknown) => {
    const response = await fetch(`${api}${path}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${String(response.status)} ${await response.text()}`);
  };
  const strategy = { name: "erc20-balance-of", token: `0x${"ee".repeat(20)}`, decimals: 0, symbol: "X0" };
  await put(`/api/v1/dao/spaces/${SPACE}`, { name: "bench", admins: [admin.address], strategy });
  await put(`/api/v1/dao/spaces/${SPACE}/balances`, {
    block: 1,
    balances: Object.fromEntries(voters.map((v, i) => [v.address, String(1 + (i % 97))])),
  });
}

async function votesPerSecond() {
  const bench = await startBenchControlPlane("dao", {});
  try {
    const token = await adminToken(bench.admin.credential, bench.api);
    const admin = privateKeyToAccount(generatePrivateKey());
    const voters = Array.from({ length: VOTERS }, () => privateKeyToAccount(generatePrivateKey()));
    await setUp(bench.api, token, admin, voters);
    const now = Math.floor(Date.now() / 1000);
    const rounds: { endpoint: number; raw: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const proposal = await post(
        bench.api,
        await sign(admin, PROPOSAL_TYPES, {
          space: SPACE,
          timestamp: now,
          type: "single-choice",
          title: `round ${String(round)}`,
          body: "",
          discussion: "",
          choices: ["a", "b", "c"],
          labels: [],
          start: now - 10,
          end: now + 3600,
          snapshot: 1,
          plugins: "{}",
          privacy: "",
          app: "",
        }),
      );
      const votes = await Promise.all(
        voters.map((v, i) =>
          sign(v, VOTE_TYPES, {
            space: SPACE,
            timestamp: now,
            proposal,
            choice: 1 + (i % 3),
            reason: "",
            app: "",
            metadata: "{}",
          }),
        ),
      );
      const raw = await rawVerification(votes);
      const endpoint = await throughEndpoint(bench.api, votes);
      rounds.push({ endpoint, raw });
      console.log(
        `round ${String(round + 1)}: endpoint ${endpoint.toFixed(0)} votes/s, raw verifyTypedData ${raw.toFixed(0)}/s`,
      );
    }
    return { endpoint: median(rounds.map((r) => r.endpoint)), raw: median(rounds.map((r) => r.raw)) };
  } finally {
    await bench.worker.dispose();
  }
}

function randomChoice(type: ProposalType, choices: number, random: () => number): VoteChoice {
  const order = () => Array.from({ length: choices }, (_, i) => i + 1).sort(() => random() - 0.5);
  switch (type) {
    case "single-choice":
    case "basic":
      return 1 + Math.floor(random() * choices);
    case "approval":
      return order().slice(0, 1 + Math.floor(random() * choices));
    case "ranked-choice":
      return order();
    case "weighted":
    case "quadratic":
      return Object.fromEntries(
        order()
          .slice(0, 2)
          .map((c) => [String(c), 1 + Math.floor(random() * 5)]),
      );
  }
}

function tallyTimes(): Record<ProposalType, number> {
  const types: ProposalType[] = ["single-choice", "basic", "approval", "ranked-choice", "weighted", "quadratic"];
  const random = prng(3);
  const result = {} as Record<ProposalType, number>;
  for (const type of types) {
    const choices = type === "basic" ? 3 : 5;
    const votes = Array.from({ length: TALLY_VOTES }, () => ({
      choice: randomChoice(type, choices, random),
      power: 1 + random() * 99,
    }));
    const runs = Array.from({ length: 3 }, () => {
      const start = performance.now();
      tallyOf({ quorum: 0, threshold: 0.5 }, type, scoresOf(type, choices, votes), votes, true);
      return performance.now() - start;
    });
    result[type] = median(runs);
  }
  return result;
}

const votes = await votesPerSecond();
const ratio = votes.endpoint / votes.raw;
console.log(
  `\nverified votes/s through the endpoint (median of ${String(ROUNDS)}, ${String(VOTERS)} votes each, ${String(CONCURRENCY)} in flight): ${votes.endpoint.toFixed(0)}`,
);
console.log(`viem verifyTypedData/s on the same envelopes: ${votes.raw.toFixed(0)}`);
console.log(`ratio: ${(ratio * 100).toFixed(0)} % (goal ≥ 80 %: ${ratio >= 0.8 ? "met" : "missed"})`);
console.log(`\ntally of ${String(TALLY_VOTES)} votes:`);
for (const [type, ms] of Object.entries(tallyTimes())) console.log(`  ${type.padEnd(14)} ${ms.toFixed(1)} ms`);
