import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  BalancesReceipt,
  BalancesUpload,
  daoLimits,
  ExecutionList,
  ExecutionRun,
  ExecutionView,
  errorText,
  HubSync,
  MeshPolicy,
  MessageReceipt,
  PolicyBroadcast,
  PROBLEM_CONTENT_TYPE,
  ProposalDetail,
  ProposalList,
  ProposalPath,
  problemTypeUri,
  SpacePath,
  SpaceSettings,
  SpaceView,
  SpaceId,
  type Problem,
} from "../../protocol/index.js";
import { z } from "zod";
import { auditStatement, recordRefusal } from "../audit/log.js";
import type { AppEnv } from "../env.js";
import { ANY_IDENTITY, guard } from "../http/guard.js";
import { createRouter, jsonBody, jsonResponse, problemResponses } from "../http/openapi.js";
import { ProblemError } from "../http/problem.js";
import { governanceTick } from "./tick.js";
import { syncFromHub } from "./hub.js";
import { acceptMessage } from "./messages.js";
import { REFUSAL_PREFIX } from "./metrics.js";
import { openDao } from "./open.js";
import { loadPolicy, signPolicy } from "./policy.js";
import { loadAuthority } from "../identity/authority.js";
import { Refused } from "./snapshot/verify.js";
import {
  balanceStatements,
  executionState,
  getExecution,
  getProposal,
  getSpace,
  listExecutions,
  listProposals,
  openProposalCount,
  putSpace,
} from "./store.js";
import { currentTally, executionViews, proposalDetail, proposalView, spaceView } from "./views.js";

const tags = ["dao"];

const messageRoute = createRoute({
  method: "post",
  path: "/api/v1/dao/msg",
  summary:
    "Snapshot's sequencer endpoint: a proposal, vote or cancellation as snapshot.js's Client712 signs it ({address, sig, data})",
  tags,
  ...guard("public"),
  responses: {
    200: jsonResponse(MessageReceipt, "Accepted and stored: the message's id (its EIP-712 hash)"),
    ...problemResponses(400, 413, 502),
  },
});

const putSpaceRoute = createRoute({
  method: "put",
  path: "/api/v1/dao/spaces/{id}",
  summary: "Create or change a space: admins, voting delay and period, quorum, threshold, timelock, strategy",
  tags,
  ...guard(["admin"], { json: true }),
  request: { params: SpacePath, body: jsonBody(SpaceSettings) },
  responses: { 200: jsonResponse(SpaceView, "The space"), ...problemResponses(400, 401, 403, 413, 415) },
});

const getSpaceRoute = createRoute({
  method: "get",
  path: "/api/v1/dao/spaces/{id}",
  summary: "A space's settings",
  tags,
  ...guard(ANY_IDENTITY),
  request: { params: SpacePath },
  responses: { 200: jsonResponse(SpaceView, "The space"), ...problemResponses(400, 401, 403, 404) },
});

const balancesRoute = createRoute({
  method: "put",
  path: "/api/v1/dao/spaces/{id}/balances",
  summary: "Load token balances at a block (the voting-power source of spaces whose strategy says balances)",
  tags,
  ...guard(["admin"], { json: true }),
  request: { params: SpacePath, body: jsonBody(BalancesUpload) },
  responses: { 200: jsonResponse(BalancesReceipt, "Stored"), ...problemResponses(400, 401, 403, 404, 413, 415) },
});

const proposalsRoute = createRoute({
  method: "get",
  path: "/api/v1/dao/spaces/{id}/proposals",
  summary: "A space's proposals, newest first, with their current tallies",
  tags,
  ...guard(ANY_IDENTITY),
  request: { params: SpacePath, query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }) },
  responses: { 200: jsonResponse(ProposalList, "Proposals"), ...problemResponses(400, 401, 403, 404) },
});

const proposalRoute = createRoute({
  method: "get",
  path: "/api/v1/dao/proposals/{id}",
  summary: "A proposal with its tally and its newest 1,000 votes",
  tags,
  ...guard(ANY_IDENTITY),
  request: { params: ProposalPath },
  responses: { 200: jsonResponse(ProposalDetail, "The proposal"), ...problemResponses(400, 401, 403, 404) },
});

const executionsRoute = createRoute({
  method: "get",
  path: "/api/v1/dao/executions",
  summary: "The execution queue: passed proposals' payloads, their timelocks and every step",
  tags,
  ...guard(ANY_IDENTITY),
  request: {
    query: z.object({ space: SpaceId.optional(), limit: z.coerce.number().int().min(1).max(100).default(50) }),
  },
  responses: { 200: jsonResponse(ExecutionList, "Executions"), ...problemResponses(400, 401, 403) },
});

const runRoute = createRoute({
  method: "post",
  path: "/api/v1/dao/executions/run",
  summary: "Close proposals whose voting ended and run executions whose timelock passed (the cron does it too)",
  tags,
  ...guard(["admin"]),
  responses: { 200: jsonResponse(ExecutionRun, "What was closed and executed"), ...problemResponses(401, 403) },
});

const cancelRoute = createRoute({
  method: "post",
  path: "/api/v1/dao/executions/{id}/cancel",
  summary: "Cancel a queued execution during its timelock (an admin the space lists by SPIFFE ID)",
  tags,
  ...guard(["admin"]),
  request: { params: ProposalPath },
  responses: { 200: jsonResponse(ExecutionView, "Cancelled"), ...problemResponses(400, 401, 403, 404, 409) },
});

const policyRoute = createRoute({
  method: "get",
  path: "/api/v1/dao/policy",
  summary: "The mesh policy executed proposals have set",
  tags,
  ...guard(ANY_IDENTITY),
  responses: { 200: jsonResponse(MeshPolicy, "The policy"), ...problemResponses(401, 403) },
});

const syncRoute = createRoute({
  method: "post",
  path: "/api/v1/dao/spaces/{id}/sync",
  summary: "Import the mirrored Snapshot space's proposals, votes and scores from its hub (the hub's word)",
  tags,
  ...guard(["admin"]),
  request: { params: SpacePath },
  responses: { 200: jsonResponse(HubSync, "What was imported"), ...problemResponses(400, 401, 403, 404, 502) },
});

const signedPolicyRoute = createRoute({
  method: "get",
  path: "/api/v1/dao/policy/signed",
  summary: "The mesh policy signed with the action key, as gateways publish it (retained) to the nodes",
  tags,
  ...guard(["gateway", "admin"]),
  responses: { 200: jsonResponse(PolicyBroadcast, "The signed policy"), ...problemResponses(401, 403, 500) },
});

/**
 * A refusal, shaped for both readers: problem+json with a stable type and the refusal's reason,
 * plus the sequencer's `error`/`error_description`. snapshot.js reads an error body only when it is
 * labelled application/json, and asks for application/json: such a client gets that label,
 * everyone else problem+json.
 */
function refusalResponse(c: Context<AppEnv>, refused: Refused): Response {
  const status = refused.reason === "too-large" ? 413 : refused.reason === "power-unavailable" ? 502 : 400;
  const body: Problem & Record<string, unknown> = {
    type: problemTypeUri("dao-message-refused"),
    title: "Message refused",
    status,
    detail: refused.description,
    instance: new URL(c.req.url).pathname,
    reason: refused.reason,
    error: "client_error",
    error_description: refused.description,
  };
  const accept = c.req.header("accept") ?? "";
  const plainJson = accept.includes("application/json") && !accept.includes(PROBLEM_CONTENT_TYPE);
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": plainJson ? "application/json" : PROBLEM_CONTENT_TYPE },
  });
}

async function readCapped(c: Context<AppEnv>): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > daoLimits.messageBytes)
    throw new Refused("too-large", `the message exceeds ${String(daoLimits.messageBytes)} bytes`);
  return c.req.text(); // the app's body limit bounds an undeclared length; verifyEnvelope measures it
}

async function existingSpace(c: Context<AppEnv>, id: string) {
  const space = await getSpace(openDao(c.env).db, id);
  if (!space) throw new ProblemError("not-found", `no space ${id}`);
  return space;
}

export const daoRoutes = createRouter()
  .openapi(messageRoute, async (c) => {
    const deps = openDao(c.env);
    try {
      return c.json(await acceptMessage(deps, await readCapped(c)), 200);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      const source = c.req.header("cf-connecting-ip") ?? "unknown";
      await recordRefusal(deps.db, { reason: `${REFUSAL_PREFIX}${error.reason}`, source, detail: error.description });
      return refusalResponse(c, error);
    }
  })
  .openapi(putSpaceRoute, async (c) => {
    const { id } = c.req.valid("param");
    const settings = c.req.valid("json");
    const deps = openDao(c.env);
    const existing = await getSpace(deps.db, id);
    const spiffeAdmins = existing?.settings.admins.filter((a) => a.startsWith("spiffe://")) ?? [];
    if (spiffeAdmins.length > 0 && !spiffeAdmins.includes(c.var.caller.spiffeId))
      throw new ProblemError("forbidden", `only the space's admins may change ${id}`);
    await deps.db.batch([
      putSpace(deps.db, id, settings, deps.now()),
      auditStatement(
        deps.db,
        {
          actor: c.var.caller.spiffeId,
          action: existing ? "dao.space.updated" : "dao.space.created",
          subject: id,
          outcome: "success",
        },
        deps.now(),
      ),
    ]);
    const space = await existingSpace(c, id);
    return c.json(spaceView(space, await openProposalCount(deps.db, id)), 200);
  })
  .openapi(getSpaceRoute, async (c) => {
    const space = await existingSpace(c, c.req.valid("param").id);
    return c.json(spaceView(space, await openProposalCount(openDao(c.env).db, space.id)), 200);
  })
  .openapi(balancesRoute, async (c) => {
    const space = await existingSpace(c, c.req.valid("param").id);
    const { block, balances } = c.req.valid("json");
    const { db, now } = openDao(c.env);
    const detail = { block, addresses: Object.keys(balances).length };
    await db.batch([
      auditStatement(
        db,
        { actor: c.var.caller.spiffeId, action: "dao.balances.loaded", subject: space.id, outcome: "success", detail },
        now(),
      ),
      ...balanceStatements(db, space.id, block, balances),
    ]);
    return c.json(detail, 200);
  })
  .openapi(proposalsRoute, async (c) => {
    const space = await existingSpace(c, c.req.valid("param").id);
    const { db, now } = openDao(c.env);
    const rows = await listProposals(db, space.id, c.req.valid("query").limit);
    const proposals = await Promise.all(
      rows.map(async (r) => proposalView(r, await currentTally(db, r, space.settings), now())),
    );
    return c.json({ proposals }, 200);
  })
  .openapi(proposalRoute, async (c) => {
    const { db, now } = openDao(c.env);
    const row = await getProposal(db, c.req.valid("param").id);
    if (!row) throw new ProblemError("not-found", `no proposal ${c.req.valid("param").id}`);
    return c.json(await proposalDetail(db, row, now()), 200);
  })
  .openapi(executionsRoute, async (c) => {
    const { db } = openDao(c.env);
    const { space, limit } = c.req.valid("query");
    return c.json({ executions: await executionViews(db, await listExecutions(db, space, limit)) }, 200);
  })
  .openapi(runRoute, async (c) => {
    const deps = openDao(c.env);
    const { closed, executed } = await governanceTick(deps);
    return c.json({ closed, executed: await executionViews(deps.db, executed) }, 200);
  })
  .openapi(cancelRoute, async (c) => {
    const { id } = c.req.valid("param");
    const deps = openDao(c.env);
    const execution = await getExecution(deps.db, id);
    if (!execution) throw new ProblemError("not-found", `no execution for proposal ${id}`);
    const space = await existingSpace(c, execution.spaceId);
    if (!space.settings.admins.includes(c.var.caller.spiffeId))
      throw new ProblemError("forbidden", `${c.var.caller.spiffeId} is not an admin of ${space.id}`);
    if (execution.state !== "queued" || deps.now() >= execution.eta)
      throw new ProblemError(
        "conflict",
        `the execution is ${execution.state}${execution.state === "queued" ? " and its timelock has passed" : ""}`,
      );
    await deps.db.batch([
      executionState(deps.db, id, ["queued"], {
        state: "cancelled",
        cancelledBy: c.var.caller.spiffeId,
        updatedAt: deps.now(),
      }),
      auditStatement(
        deps.db,
        { actor: c.var.caller.spiffeId, action: "dao.execution.cancelled", subject: id, outcome: "success" },
        deps.now(),
      ),
    ]);
    const [view] = await executionViews(deps.db, [(await getExecution(deps.db, id)) ?? execution]);
    return c.json(view as ExecutionView, 200);
  })
  .openapi(syncRoute, async (c) => {
    const space = await existingSpace(c, c.req.valid("param").id);
    if (!space.settings.mirror) throw new ProblemError("validation", `space ${space.id} mirrors no Snapshot space`);
    const deps = openDao(c.env);
    const synced = await syncFromHub(deps, space).catch((error: unknown) => {
      throw new ProblemError("upstream-failed", `the Snapshot hub: ${errorText(error)}`);
    });
    await auditStatement(
      deps.db,
      { actor: c.var.caller.spiffeId, action: "dao.hub.synced", subject: space.id, outcome: "success", detail: synced },
      deps.now(),
    );
    return c.json(synced, 200);
  })
  .openapi(policyRoute, async (c) => c.json(await loadPolicy(openDao(c.env).db), 200))
  .openapi(signedPolicyRoute, async (c) => {
    const { actionSigner } = await loadAuthority(c.env.X0_CA);
    if (!actionSigner)
      throw new ProblemError("internal", "the CA secret carries no action key to sign the policy with");
    const policy = await loadPolicy(openDao(c.env).db);
    return c.json({ revision: policy.revision, signed: await signPolicy(policy, actionSigner) }, 200);
  });
