import { env } from "cloudflare:workers";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ExecutionList,
  MeshPolicy,
  MessageReceipt,
  ProposalDetail,
  SpaceView,
  type ProposalType,
  type SpaceSettingsInput,
} from "../../protocol/index.js";
import { acceptMessage } from "../../workers/dao/messages.js";
import { openDao } from "../../workers/dao/open.js";
import { stepStatements } from "../../workers/dao/policy.js";
import { governanceTick } from "../../workers/dao/tick.js";
import { Refused } from "../../workers/dao/snapshot/verify.js";
import { exactly } from "../helpers/contract.js";
import { signEnvelope, snapshotTypes, type Envelope } from "../helpers/snapshot.js";
import { fetchWorker, get, postJson } from "./client.js";
import { adminSpiffeId, adminToken, bearer } from "./identity-client.js";

const SPACE = "mesh.x0";
const admin = privateKeyToAccount(generatePrivateKey());
const voters = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
const [alice, bob, carol, dave] = voters as [
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
  PrivateKeyAccount,
];
const pauper = privateKeyToAccount(generatePrivateKey());
/** Token balances (18 decimals) at block 100: alice 40, bob 30, carol 20, dave 10. */
const POWER = [40, 30, 20, 10];
const wei = (tokens: number) => (BigInt(tokens) * 10n ** 18n).toString();

let auth: Record<string, string>;
const put = (path: string, body: unknown) =>
  fetchWorker(path, {
    method: "PUT",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify(body),
  });

const settings: SpaceSettingsInput = {
  name: "x0tta6bl4 test mesh",
  admins: [admin.address, adminSpiffeId],
  quorum: 50,
  threshold: 0.5,
  timelock: 3600,
  strategy: {
    name: "erc20-balance-of",
    token: "0x00000000000000000000000000000000000000aa",
    decimals: 18,
    symbol: "X0",
  },
};

beforeAll(async () => {
  auth = bearer(await adminToken());
  expect((await put(`/api/v1/dao/spaces/${SPACE}`, settings)).status).toBe(200);
  const balances = Object.fromEntries(voters.map((v, i) => [v.address, wei(POWER[i] ?? 0)]));
  expect((await put(`/api/v1/dao/spaces/${SPACE}/balances`, { block: 100, balances })).status).toBe(200);
});

const nowS = () => Math.floor(Date.now() / 1000);
const post = (envelope: Envelope | string) => postJson("/api/v1/dao/msg", envelope);

async function accepted(envelope: Envelope): Promise<string> {
  const response = await post(envelope);
  const body: unknown = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(200);
  return exactly(MessageReceipt, body).id;
}

/** The refusal's reason and description; asserts nothing new was stored. */
async function refused(envelope: Envelope | string): Promise<{ status: number; reason: string; description: string }> {
  const before = await storedCounts();
  const response = await post(envelope);
  const body = await response.json<{ reason: string; error: string; error_description: string; type: string }>();
  expect(body).toMatchObject({ type: "urn:x0tta6bl4:problem:dao-message-refused", error: "client_error" });
  expect(await storedCounts()).toEqual(before);
  return { status: response.status, reason: body.reason, description: body.error_description };
}

const storedCounts = async () =>
  env.DB.prepare(
    "SELECT (SELECT count(*) FROM dao_messages) AS messages, (SELECT count(*) FROM dao_proposals) AS proposals, (SELECT count(*) FROM dao_votes) AS votes",
  ).first();

let proposals = 0;
function proposalMessage(type: ProposalType, choices: string[], extra: Record<string, unknown> = {}) {
  const start = nowS() - 10;
  proposals++; // distinct titles: two proposals signed in the same second would be one message
  return {
    space: SPACE,
    timestamp: nowS(),
    type,
    title: `${type} test ${String(proposals)}`,
    body: "",
    discussion: "",
    choices,
    labels: [],
    start,
    end: start + 3600,
    snapshot: 100,
    plugins: "{}",
    privacy: "",
    app: "",
    ...extra,
  };
}

const propose = async (type: ProposalType, choices: string[], extra: Record<string, unknown> = {}) =>
  accepted(await signEnvelope(admin, snapshotTypes.proposal, proposalMessage(type, choices, extra)));

const voteMessage = (proposal: string, choice: unknown, timestamp = nowS()) => ({
  space: SPACE,
  timestamp,
  proposal,
  choice,
  reason: "",
  app: "",
  metadata: "{}",
});

const TYPES_OF: Record<ProposalType, keyof typeof snapshotTypes> = {
  "single-choice": "vote",
  basic: "vote",
  approval: "voteArray",
  "ranked-choice": "voteArray",
  weighted: "voteString",
  quadratic: "voteString",
};

async function vote(voter: PrivateKeyAccount, type: ProposalType, proposal: string, choice: unknown) {
  const signed = typeof choice === "object" && !Array.isArray(choice) ? JSON.stringify(choice) : choice;
  return signEnvelope(voter, snapshotTypes[TYPES_OF[type]], voteMessage(proposal, signed));
}

async function detail(id: string) {
  return exactly(ProposalDetail, await (await get(`/api/v1/dao/proposals/${id}`, auth)).json());
}

describe("Snapshot messages: proposals and votes of every voting type, tallied", () => {
  it("single-choice: power per choice; a later vote replaces the earlier one", async () => {
    const id = await propose("single-choice", ["a", "b", "c"]);
    await accepted(await vote(alice, "single-choice", id, 1));
    await accepted(await vote(bob, "single-choice", id, 2));
    await accepted(await vote(carol, "single-choice", id, 2));
    const changed = await signEnvelope(alice, snapshotTypes.vote, voteMessage(id, 3, nowS() + 1));
    await accepted(changed);
    const { tally, votes, state } = await detail(id);
    expect(state).toBe("active");
    expect(votes).toHaveLength(3);
    expect(tally).toMatchObject({ scores: [0, 50, 40], scoresTotal: 90, votes: 3, quorumMet: true, result: null });
  });

  it("approval: every approved choice gets the voter's whole power", async () => {
    const id = await propose("approval", ["a", "b", "c"]);
    await accepted(await vote(alice, "approval", id, [1, 2]));
    await accepted(await vote(dave, "approval", id, [2, 3]));
    expect((await detail(id)).tally).toMatchObject({ scores: [40, 50, 10], scoresTotal: 50 });
  });

  it("ranked-choice: instant runoff until a majority", async () => {
    const id = await propose("ranked-choice", ["a", "b", "c"]);
    await accepted(await vote(alice, "ranked-choice", id, [1, 2, 3]));
    await accepted(await vote(bob, "ranked-choice", id, [2, 1, 3]));
    await accepted(await vote(carol, "ranked-choice", id, [3, 2, 1]));
    await accepted(await vote(dave, "ranked-choice", id, [3, 1, 2]));
    // Round 1: a 40, b 30, c 30 of 100: no majority; b and c tie lowest, b (first) goes and bob's 30 move to a.
    expect((await detail(id)).tally.scores).toEqual([70, 0, 30]);
  });

  it("weighted: power split by the voter's weights", async () => {
    const id = await propose("weighted", ["a", "b"]);
    await accepted(await vote(alice, "weighted", id, { 1: 3, 2: 1 }));
    await accepted(await vote(bob, "weighted", id, { 2: 5 }));
    const { scores } = (await detail(id)).tally;
    expect(scores[0]).toBeCloseTo(30, 9); // 40 × 3/4
    expect(scores[1]).toBeCloseTo(40, 9); // 40 × 1/4 + 30
  });

  it("quadratic: the square of summed square roots, scaled to the cast power", async () => {
    const id = await propose("quadratic", ["a", "b"]);
    await accepted(await vote(alice, "quadratic", id, { 1: 1 }));
    await accepted(await vote(bob, "quadratic", id, { 2: 1 }));
    await accepted(await vote(dave, "quadratic", id, { 2: 1 }));
    // a: (√40)² = 40; b: (√30 + √10)² = 40 + 2√300; scaled so that the two sum to 80.
    const a = 40;
    const b = 40 + 2 * Math.sqrt(300);
    const { scores } = (await detail(id)).tally;
    expect(scores[0]).toBeCloseTo((80 * a) / (a + b), 9);
    expect(scores[1]).toBeCloseTo((80 * b) / (a + b), 9);
  });

  it("basic: for, against, abstain; abstentions count toward quorum only", async () => {
    const id = await propose("basic", ["For", "Against", "Abstain"]);
    await accepted(await vote(alice, "basic", id, 1));
    await accepted(await vote(bob, "basic", id, 2));
    await accepted(await vote(carol, "basic", id, 3));
    expect((await detail(id)).tally).toMatchObject({ scores: [40, 30, 20], scoresTotal: 90, approval: 40 / 70 });
  });

  it("accepts the older type sets: from as an address, the proposal as a bytes32", async () => {
    const id = await accepted(
      await signEnvelope(admin, snapshotTypes.proposalFromAddress, proposalMessage("single-choice", ["x", "y"])),
    );
    await accepted(await signEnvelope(bob, snapshotTypes.voteBytes32, voteMessage(id, 2)));
    expect((await detail(id)).tally.scores).toEqual([0, 30]);
  });
});

describe("refusals: a clear reason each, nothing stored", () => {
  let open: string;
  beforeAll(async () => {
    open = await propose("single-choice", ["a", "b"]);
  });

  it("wrong domain, unknown types, bad signature, signer ≠ from", async () => {
    const domain = await signEnvelope(alice, snapshotTypes.vote, voteMessage(open, 1), {
      name: "snapshot",
      version: "0.1.3",
    });
    expect(await refused(domain)).toMatchObject({ status: 400, reason: "wrong-domain" });
    const chained = await signEnvelope(alice, snapshotTypes.vote, voteMessage(open, 1), {
      name: "snapshot",
      version: "0.1.4",
      chainId: 1,
    });
    expect((await refused(chained)).reason).toBe("wrong-domain");
    const odd = { Vote: [...snapshotTypes.vote.Vote, { name: "extra", type: "string" }] };
    expect((await refused(await signEnvelope(alice, odd, { ...voteMessage(open, 1), extra: "" }))).reason).toBe(
      "unknown-types",
    );
    const good = await signEnvelope(alice, snapshotTypes.vote, voteMessage(open, 1));
    const forged = { ...good, data: { ...good.data, message: { ...good.data.message, choice: 2 } } };
    expect((await refused(forged)).reason).toBe("bad-signature");
    const byBob = await signEnvelope(bob, snapshotTypes.vote, { ...voteMessage(open, 1), from: alice.address });
    expect((await refused({ ...byBob, address: bob.address })).reason).toBe("signer-mismatch");
    expect((await refused({ ...byBob, address: alice.address })).reason).toBe("bad-signature");
  });

  it("a timestamp too far ahead or too old, each with its reason", async () => {
    const future = await signEnvelope(alice, snapshotTypes.vote, voteMessage(open, 1, nowS() + 301));
    expect(await refused(future)).toMatchObject({
      reason: "timestamp-future",
      description: expect.stringMatching(/future/) as string,
    });
    const stale = await signEnvelope(alice, snapshotTypes.vote, voteMessage(open, 1, nowS() - 3 * 86_400 - 1));
    expect(await refused(stale)).toMatchObject({
      reason: "timestamp-stale",
      description: expect.stringMatching(/3 days/) as string,
    });
  });

  it("the same message twice, an oversized body, a body that is not an envelope", async () => {
    const once = await signEnvelope(carol, snapshotTypes.vote, voteMessage(open, 1));
    await accepted(once);
    expect((await refused(once)).reason).toBe("duplicate");
    const huge = await signEnvelope(alice, snapshotTypes.vote, {
      ...voteMessage(open, 1),
      reason: "x".repeat(100_001),
    });
    expect(await refused(huge)).toMatchObject({ status: 413, reason: "too-large" });
    expect((await refused("{not json")).reason).toBe("malformed");
    expect((await refused(JSON.stringify({ address: "0x1", sig: "0x", data: {} }))).reason).toBe("malformed");
  });

  it("votes before start and after end (by the server's clock and the message's)", async () => {
    const later = await propose("single-choice", ["a", "b"], { start: nowS() + 3600, end: nowS() + 7200 });
    expect((await refused(await vote(alice, "single-choice", later, 1))).reason).toBe("vote-not-started");
    const deps = openDao(env, () => Date.now() + 2 * 3600_000);
    const afterEnd = await signEnvelope(alice, snapshotTypes.vote, voteMessage(open, 1));
    await expect(acceptMessage(deps, JSON.stringify(afterEnd))).rejects.toMatchObject({ reason: "vote-ended" });
  });

  it("an invalid choice for each voting type", async () => {
    const cases: [ProposalType, string[], unknown][] = [
      ["single-choice", ["a", "b"], 3],
      ["basic", ["For", "Against", "Abstain"], 0],
      ["approval", ["a", "b"], [1, 1]],
      ["ranked-choice", ["a", "b", "c"], [1, 2]],
      ["weighted", ["a", "b"], { 3: 1 }],
      ["quadratic", ["a", "b"], { 1: 0 }],
    ];
    for (const [type, choices, choice] of cases) {
      const id = await propose(type, choices);
      const result = await refused(await vote(alice, type, id, choice));
      expect([type, result.reason]).toEqual([type, "invalid-choice"]);
    }
    const single = await propose("single-choice", ["a", "b"]);
    const asArray = await signEnvelope(alice, snapshotTypes.voteArray, voteMessage(single, [1]));
    expect((await refused(asArray)).description).toMatch(/signed as vote, not vote-array/);
  });

  it("no voting power at the proposal's block", async () => {
    expect((await refused(await vote(pauper, "single-choice", open, 1))).reason).toBe("no-voting-power");
  });

  it("a payload outside the closed set of policy changes, and a non-member proposing", async () => {
    const plugins = JSON.stringify({ x0tta6bl4: { changes: [{ kind: "set-anything", value: 1 }] } });
    const bad = await signEnvelope(
      admin,
      snapshotTypes.proposal,
      proposalMessage("basic", ["For", "Against"], { plugins }),
    );
    expect(await refused(bad)).toMatchObject({
      reason: "invalid-payload",
      description: expect.stringMatching(/closed set/) as string,
    });
    const stranger = await signEnvelope(alice, snapshotTypes.proposal, proposalMessage("basic", ["For", "Against"]));
    expect((await refused(stranger)).reason).toBe("not-allowed");
  });

  it("answers application/json to a client asking for it (snapshot.js), problem+json to the others", async () => {
    const body = JSON.stringify({ address: "0x1", sig: "0x", data: {} });
    const label = async (accept?: string) =>
      (await postJson("/api/v1/dao/msg", body, accept ? { accept } : {})).headers.get("content-type");
    expect(await label("application/json")).toBe("application/json");
    expect(await label("application/problem+json")).toBe("application/problem+json");
    expect(await label("application/problem+json, application/json")).toBe("application/problem+json");
    expect(await label()).toBe("application/problem+json");
  });
});

describe("the execution queue", () => {
  const tighten = [
    { kind: "guard-rail", limit: "cooldown-seconds", value: 120 },
    { kind: "detector-threshold", detector: "flood-pps", value: 1000 },
    { kind: "revoke-identity", spiffeId: "spiffe://x0tta6bl4.mesh/node/rogue-1", reason: "voted out" },
  ];

  async function passed(changes: unknown[]): Promise<{ id: string; end: number }> {
    const plugins = JSON.stringify({ x0tta6bl4: { changes } });
    const message = proposalMessage("basic", ["For", "Against", "Abstain"], { plugins });
    const id = await accepted(await signEnvelope(admin, snapshotTypes.proposal, message));
    await accepted(await vote(alice, "basic", id, 1));
    await accepted(await vote(bob, "basic", id, 1));
    return { id, end: message.end };
  }

  const at = (seconds: number) => openDao(env, () => seconds * 1000);
  const executions = async () =>
    exactly(ExecutionList, await (await get("/api/v1/dao/executions", auth)).json()).executions;
  const policy = async () => exactly(MeshPolicy, await (await get("/api/v1/dao/policy", auth)).json());
  const auditSteps = async (id: string) =>
    (
      await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'dao.execution.step' AND subject = ?")
        .bind(id)
        .first<{ n: number }>()
    )?.n;

  it("closes a passed proposal at its end, waits out the timelock, applies every change once", async () => {
    const { id, end } = await passed(tighten);
    await governanceTick(at(end - 1));
    expect((await detail(id)).state).toBe("active");
    await governanceTick(at(end));
    expect((await detail(id)).tally).toMatchObject({ result: "passed", scoresTotal: 70 });
    const queued = (await executions()).find((e) => e.proposalId === id);
    expect(queued).toMatchObject({ state: "queued", eta: new Date((end + 3600) * 1000).toISOString() });
    await governanceTick(at(end + 3599));
    expect((await executions()).find((e) => e.proposalId === id)?.state).toBe("queued");
    const { executed } = await governanceTick(at(end + 3600));
    expect(executed.map((e) => [e.proposalId, e.state])).toContainEqual([id, "done"]);
    expect((await policy()).settings).toMatchObject({ cooldownSeconds: 120, floodPps: 1000 });
    const denied = await (await get("/api/v1/identity/denylist", auth)).json();
    expect(JSON.stringify(denied)).toContain("spiffe://x0tta6bl4.mesh/node/rogue-1");
    // Run again, and as if interrupted after every step: nothing is applied twice.
    await env.DB.prepare("UPDATE dao_executions SET state = 'running' WHERE proposal_id = ?").bind(id).run();
    await governanceTick(at(end + 4000));
    expect(await auditSteps(id)).toBe(3);
    const revoked = await env.DB.prepare("SELECT count(*) AS n FROM revocations WHERE revoked_by = ?")
      .bind(`dao:${id}`)
      .first<{ n: number }>();
    expect(revoked?.n).toBe(1);
  });

  it("applies a step once even when two executors run it: every statement waits on the step's marker", async () => {
    const step = {
      proposalId: "0x" + "ab".repeat(32),
      index: 0,
      change: { kind: "revoke-identity", spiffeId: "spiffe://x0tta6bl4.mesh/node/raced", reason: "race" } as const,
      now: Date.now(),
    };
    await Promise.all([env.DB.batch(stepStatements(env.DB, step)), env.DB.batch(stepStatements(env.DB, step))]);
    await env.DB.batch(stepStatements(env.DB, step));
    const revoked = await env.DB.prepare("SELECT count(*) AS n FROM revocations WHERE spiffe_id = ?")
      .bind(step.change.spiffeId)
      .first<{ n: number }>();
    expect(revoked?.n).toBe(1);
    expect(await auditSteps(step.proposalId)).toBe(1);
  });

  it("lets a space admin cancel during the timelock, by API or by signed message, and not after", async () => {
    const first = await passed([{ kind: "bundle-refresh-hint", seconds: 600 }]);
    const second = await passed([{ kind: "bundle-refresh-hint", seconds: 900 }]);
    await governanceTick(at(second.end));
    const cancel = await postJson(`/api/v1/dao/executions/${first.id}/cancel`, {}, auth);
    expect(cancel.status).toBe(200);
    const signed = await signEnvelope(admin, snapshotTypes.cancel, {
      space: SPACE,
      timestamp: nowS(),
      proposal: second.id,
    });
    await accepted(signed);
    const states = (await executions()).filter((e) => [first.id, second.id].includes(e.proposalId));
    expect(states.map((e) => e.state)).toEqual(["cancelled", "cancelled"]);
    await governanceTick(at(second.end + 7200));
    expect((await policy()).settings.bundleRefreshHintSeconds).toBeUndefined();
    const late = await passed([{ kind: "bundle-refresh-hint", seconds: 1200 }]);
    await governanceTick(at(late.end + 3600 - 1));
    const tooLate = await acceptMessage(
      at(late.end + 3600),
      JSON.stringify(
        await signEnvelope(admin, snapshotTypes.cancel, { space: SPACE, timestamp: nowS(), proposal: late.id }),
      ),
    ).catch((error: unknown) => error);
    expect(tooLate).toBeInstanceOf(Refused);
  });

  it("stops at a failed step and shows why, leaving the earlier steps applied", async () => {
    const sha = (c: string) => c.repeat(64);
    const { id, end } = await passed([
      { kind: "approve-firmware", version: "1.2.3", sha256: sha("a") },
      { kind: "approve-firmware", version: "1.2.3", sha256: sha("b") },
      { kind: "guard-rail", limit: "actions-per-node-per-minute", value: 1 },
    ]);
    await governanceTick(at(end + 3600));
    const execution = (await executions()).find((e) => e.proposalId === id);
    expect(execution?.state).toBe("failed");
    expect(execution?.steps.map((s) => s.state)).toEqual(["applied", "failed", "pending"]);
    expect(execution?.error).toMatch(/approved with another SHA-256/);
    expect((await policy()).settings.actionsPerNodePerMinute).toBeUndefined();
  });

  it("lets only the admins a space lists by SPIFFE ID change it (any admin, when it lists none)", async () => {
    const others = { ...settings, admins: [admin.address, "spiffe://x0tta6bl4.mesh/admin/someone-else"] };
    expect((await put("/api/v1/dao/spaces/others.x0", others)).status).toBe(200); // created: no admins yet
    const refused = await put("/api/v1/dao/spaces/others.x0", settings);
    expect(refused.status).toBe(403);
    const addressesOnly = await put("/api/v1/dao/spaces/open.x0", { ...settings, admins: [admin.address] });
    expect(exactly(SpaceView, await addressesOnly.json()).admins).toEqual([admin.address.toLowerCase()]);
    expect((await put("/api/v1/dao/spaces/open.x0", settings)).status).toBe(200);
  });
});
