import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { Wallet } from "@ethersproject/wallet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CycleResponse,
  ExecutionRun,
  MeshPolicy,
  ProposalDetail,
  type ProposalType,
  type SpaceSettingsInput,
} from "../../protocol/index.js";
import { kindOfTypes } from "../../workers/dao/snapshot/types.js";
import hashedTypes from "../../workers/dao/snapshot/hashed-types.json" with { type: "json" };
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { batchOf, telemetryItem, telemetrySample } from "../helpers/fixtures.js";
import { snapshotJs } from "../../ctl/snapshot-client.js";
import { snapshotTypes } from "../helpers/snapshot.js";

const SPACE = "interop.x0";
let cp: ControlPlane;
let client: InstanceType<typeof snapshotJs.Client712>;
const admin = Wallet.createRandom();
const voters = Array.from({ length: 3 }, () => Wallet.createRandom());
const [alice, bob, carol] = voters as [Wallet, Wallet, Wallet];
/** alice 50, bob 30, carol 20 tokens (6 decimals) at block 7. */
const TOKENS = [50, 30, 20];

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${cp.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await cp.adminJwt()}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json: unknown = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

beforeAll(async () => {
  cp = await startControlPlane();
  client = new snapshotJs.Client712(`${cp.url}/api/v1/dao/msg`);
  const settings: SpaceSettingsInput = {
    name: "interop",
    admins: [admin.address],
    quorum: 60,
    threshold: 0.6,
    timelock: 0,
    strategy: {
      name: "erc20-balance-of",
      token: "0x00000000000000000000000000000000000000bb",
      decimals: 6,
      symbol: "X0",
    },
  };
  await api("PUT", `/api/v1/dao/spaces/${SPACE}`, settings);
  const balances = Object.fromEntries(voters.map((v, i) => [v.address, String((TOKENS[i] ?? 0) * 1e6)]));
  await api("PUT", `/api/v1/dao/spaces/${SPACE}/balances`, { block: 7, balances });
});
afterAll(() => cp.dispose());

const now = () => Math.floor(Date.now() / 1000);

let proposals = 0;
async function propose(type: ProposalType, choices: string[], window = 3600, plugins = "{}") {
  const start = now() - 1;
  proposals++; // distinct titles: two proposals alike, signed in the same second, would be one message
  const receipt = (await client.proposal(admin, admin.address, {
    space: SPACE,
    type,
    title: `${type} by snapshot.js, ${String(proposals)}`,
    body: "Signed by the real Client712 with an ethers wallet.",
    discussion: "",
    choices,
    start,
    end: start + window,
    snapshot: 7,
    plugins,
  })) as { id: string };
  return { id: receipt.id, end: start + window };
}

const vote = (
  voter: Wallet,
  proposal: string,
  type: ProposalType,
  choice: number | number[] | Record<string, number>,
  timestamp?: number,
) =>
  client.vote(voter, voter.address, {
    space: SPACE,
    proposal,
    type,
    choice,
    reason: "interop",
    app: "x0-test",
    ...(timestamp === undefined ? {} : { timestamp }),
  });

const tally = async (id: string) => ProposalDetail.parse(await api("GET", `/api/v1/dao/proposals/${id}`)).tally;

/** Waits for a proposal's end: the voting window is the protocol's clock, not a guess at how long something takes. */
async function untilEnded(end: number): Promise<void> {
  const wait = end * 1000 - Date.now() + 50;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

describe("snapshot.js 0.17.5's Client712, unmodified, against the control plane in workerd", () => {
  it("proposes and votes by every voting type; the tallies are the ones worked out by hand", async () => {
    const single = await propose("single-choice", ["a", "b"]);
    await vote(alice, single.id, "single-choice", 2);
    await vote(bob, single.id, "single-choice", 1);
    expect((await tally(single.id)).scores).toEqual([30, 50]);
    // A later vote replaces the earlier one (Client712 rounds its timestamp, so "later" is 2 s on).
    await vote(alice, single.id, "single-choice", 1, now() + 2);
    expect((await tally(single.id)).scores).toEqual([80, 0]);

    const approval = await propose("approval", ["a", "b", "c"]);
    await vote(alice, approval.id, "approval", [1, 3]);
    await vote(carol, approval.id, "approval", [3]);
    expect((await tally(approval.id)).scores).toEqual([50, 0, 70]);

    const ranked = await propose("ranked-choice", ["a", "b", "c"]);
    await vote(alice, ranked.id, "ranked-choice", [1, 2, 3]);
    await vote(bob, ranked.id, "ranked-choice", [2, 3, 1]);
    await vote(carol, ranked.id, "ranked-choice", [3, 2, 1]);
    // a 50, b 30, c 20 of 100: no majority; c goes, carol's 20 move to b: a 50, b 50, two left.
    expect((await tally(ranked.id)).scores).toEqual([50, 50, 0]);

    const weighted = await propose("weighted", ["a", "b"]);
    await vote(alice, weighted.id, "weighted", { 1: 1, 2: 1 });
    await vote(bob, weighted.id, "weighted", { 2: 3 });
    const w = (await tally(weighted.id)).scores;
    expect([w[0], w[1]].map((x) => Math.round((x ?? 0) * 1e9) / 1e9)).toEqual([25, 55]);

    const quadratic = await propose("quadratic", ["a", "b"]);
    await vote(alice, quadratic.id, "quadratic", { 1: 1 });
    await vote(bob, quadratic.id, "quadratic", { 1: 1, 2: 1 });
    await vote(carol, quadratic.id, "quadratic", { 2: 1 });
    const a = (Math.sqrt(50) + Math.sqrt(15)) ** 2;
    const b = (Math.sqrt(15) + Math.sqrt(20)) ** 2;
    const q = (await tally(quadratic.id)).scores;
    expect(q[0]).toBeCloseTo((100 * a) / (a + b), 9);
    expect(q[1]).toBeCloseTo((100 * b) / (a + b), 9);

    const basic = await propose("basic", ["For", "Against", "Abstain"]);
    await vote(alice, basic.id, "basic", 1);
    await vote(bob, basic.id, "basic", 2);
    await vote(carol, basic.id, "basic", 3);
    expect(await tally(basic.id)).toMatchObject({ scores: [50, 30, 20], scoresTotal: 100, approval: 50 / 80 });
  });

  it("passes the refusal's reason through snapshot.js to the caller", async () => {
    const single = await propose("single-choice", ["a", "b"]);
    const error = (await vote(alice, single.id, "single-choice", 3).catch((e: unknown) => e)) as Record<
      string,
      unknown
    >;
    expect(error).toMatchObject({ error: "client_error", reason: "invalid-choice" });
  });

  it("executes a passed proposal's payload once voting ends, and the Plan step decides by it", async () => {
    const changes = [{ kind: "detector-threshold", detector: "flood-pps", value: 1000 }];
    const proposal = await propose("basic", ["For", "Against"], 3, JSON.stringify({ x0tta6bl4: { changes } }));
    await vote(alice, proposal.id, "basic", 1);
    await vote(bob, proposal.id, "basic", 1);
    await untilEnded(proposal.end);
    const run = ExecutionRun.parse(await api("POST", "/api/v1/dao/executions/run"));
    expect(run.executed.map((e) => [e.proposalId, e.state])).toEqual([[proposal.id, "done"]]);
    expect(ExecutionRun.parse(await api("POST", "/api/v1/dao/executions/run")).executed).toEqual([]); // once
    expect(MeshPolicy.parse(await api("GET", "/api/v1/dao/policy")).settings.floodPps).toBe(1000);
    const dataplane = {
      kind: "simulated" as const,
      sources: [{ source: "10.9.0.7", packetsPerS: 2000, bytesPerS: 200_000, droppedPerS: 0, blocked: false }],
      blocklistSize: 0,
      rateLimitedSources: 0,
      dropped: { blocked: 0, rateLimited: 0 },
    };
    const cycle = CycleResponse.parse(
      await api("POST", "/api/v1/mape/cycle", batchOf([telemetryItem(telemetrySample("n-vote", { dataplane }))])),
    );
    expect(cycle.actions).toHaveLength(1); // 2000 packets/s: a flood under the voted limit, not under the default 5000
  });
});

describe("the type sets", () => {
  it("are snapshot.js's own hashedTypes.json, byte for byte in meaning", async () => {
    const require = createRequire(import.meta.url);
    const path = require.resolve("@snapshot-labs/snapshot.js/src/sign/hashedTypes.json");
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual(hashedTypes);
  });

  it("include every set the tests sign with, found by hash", async () => {
    const kinds = await Promise.all(Object.values(snapshotTypes).map((t) => kindOfTypes(JSON.stringify(t))));
    expect(kinds).toEqual(["proposal", "proposal", "vote", "vote-array", "vote-string", "vote", "delete-proposal"]);
  });
});
