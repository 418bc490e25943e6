import { readFile } from "node:fs/promises";
import { Wallet } from "@ethersproject/wallet";
import {
  BalancesReceipt,
  BalancesUpload,
  ExecutionList,
  ExecutionRun,
  ExecutionView,
  HubSync,
  ProposalDetail,
  ProposalList,
  ProposalType,
  SpaceSettings,
  SpaceView,
  describeIssues,
  errorText,
  ExecutionPayload,
} from "../protocol/index.js";
import type { z } from "zod";
import { writePrivate } from "../node-firmware/identity/index.js";
import { ApiError, request } from "./api.js";
import type { Command, CommandContext } from "./commands.js";
import { snapshotJs } from "./snapshot-client.js";
import { renderTable } from "./table.js";

/** A wallet from a key file: one 0x-prefixed hex private key (as `x0ctl dao key new` writes it). */
async function walletFrom(ctx: CommandContext): Promise<Wallet> {
  const file = ctx.options.key;
  if (typeof file !== "string") throw new ApiError("signing needs --key FILE (x0ctl dao key new FILE writes one)");
  const text = (
    await readFile(file, "utf8").catch((error: unknown) => {
      throw new ApiError(`cannot read ${file}: ${errorText(error)}`);
    })
  ).trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(text))
    throw new ApiError(`${file} does not hold a 0x-prefixed 32-byte hex private key`);
  return new Wallet(text);
}

async function jsonFile(file: string | undefined, what: string): Promise<unknown> {
  if (file === undefined) throw new ApiError(`${what} needs a JSON file`);
  try {
    return JSON.parse(await readFile(file, "utf8")) as unknown;
  } catch (error) {
    throw new ApiError(`${file}: ${errorText(error)}`);
  }
}

function checked<T>(schema: z.ZodType<T>, value: unknown, file: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ApiError(
    `${file}: ${describeIssues(parsed.error)
      .map((i) => `${i.path} ${i.message}`)
      .join("; ")}`,
  );
}

/** Posts through snapshot.js's Client712 (the same client a Snapshot UI uses), signed by the wallet. */
async function sign<T>(
  ctx: CommandContext,
  send: (client: InstanceType<typeof snapshotJs.Client712>) => Promise<unknown>,
): Promise<T> {
  const client = new snapshotJs.Client712(new URL("/api/v1/dao/msg", ctx.session.api).href);
  try {
    return (await send(client)) as T;
  } catch (error) {
    const refused = error as { reason?: string; error_description?: string };
    if (refused.error_description)
      throw new ApiError(`refused (${refused.reason ?? "?"}): ${refused.error_description}`);
    throw new ApiError(`cannot reach the control plane at ${ctx.session.api}: ${errorText(error)}`);
  }
}

const option = (ctx: CommandContext, name: string) => {
  const value = ctx.options[name];
  return typeof value === "string" ? value : undefined;
};
const integer = (ctx: CommandContext, name: string, fallback: number) => {
  const raw = option(ctx, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ApiError(`--${name} must be a whole number, got "${raw}"`);
  return Number(raw);
};

async function propose(ctx: CommandContext): Promise<void> {
  const title = ctx.args.join(" ");
  const space = option(ctx, "space");
  if (title === "" || space === undefined)
    throw new ApiError(
      'dao propose needs --space ID and a title: x0ctl dao propose --space mesh "Lower the flood limit"',
    );
  const wallet = await walletFrom(ctx);
  const type = ProposalType.safeParse(option(ctx, "type") ?? "basic");
  if (!type.success) throw new ApiError(`--type must be one of ${ProposalType.options.join(", ")}`);
  const choices = option(ctx, "choices")
    ?.split(",")
    .map((c) => c.trim()) ?? ["For", "Against", "Abstain"];
  const changesFile = option(ctx, "changes");
  const payload =
    changesFile === undefined
      ? undefined
      : checked(ExecutionPayload, { changes: await jsonFile(changesFile, "--changes") }, changesFile);
  const start = integer(ctx, "start", Math.floor(Date.now() / 1000));
  // Voting power is read at this block; there is no sensible default without a chain to ask.
  if (option(ctx, "block") === undefined)
    throw new ApiError("dao propose needs --block N: the block voting power is read at");
  const block = integer(ctx, "block", 0);
  const receipt = await sign<{ id: string }>(ctx, (client) =>
    client.proposal(wallet, wallet.address, {
      space,
      type: type.data,
      title,
      body: option(ctx, "body") ?? "",
      discussion: "",
      choices,
      start,
      end: start + integer(ctx, "period", 7 * 86_400),
      snapshot: block,
      plugins: JSON.stringify(payload ? { x0tta6bl4: payload } : {}),
    }),
  );
  ctx.out(ctx.json ? JSON.stringify(receipt) : receipt.id);
}

/** A choice as typed on the command line, in the shape the proposal's voting type takes. */
export function parseChoice(type: ProposalType, text: string): number | number[] | Record<string, number> {
  const numbers = () =>
    text
      .split(",")
      .filter((c) => c.trim() !== "")
      .map(Number);
  switch (type) {
    case "basic": {
      const named = ["for", "against", "abstain"].indexOf(text.toLowerCase());
      return named >= 0 ? named + 1 : Number(text);
    }
    case "single-choice":
      return Number(text);
    case "approval":
    case "ranked-choice":
      return numbers();
    case "weighted":
    case "quadratic":
      return Object.fromEntries(
        text.split(",").map((pair) => {
          const [choice, weight] = pair.split("=");
          return [String(Number(choice)), Number(weight ?? 1)];
        }),
      );
  }
}

async function vote(ctx: CommandContext): Promise<void> {
  const [id, choiceText] = ctx.args;
  if (id === undefined || choiceText === undefined || ctx.args.length > 2)
    throw new ApiError("dao vote needs a proposal id and a choice: x0ctl dao vote 0x… for (or 2, or 1,3, or 1=2,2=1)");
  const wallet = await walletFrom(ctx);
  const proposal = await request(ctx.session, `/api/v1/dao/proposals/${id}`, ProposalDetail);
  const choice = parseChoice(proposal.type, choiceText);
  const receipt = await sign<{ id: string }>(ctx, (client) =>
    client.vote(wallet, wallet.address, {
      space: proposal.space,
      proposal: proposal.id,
      type: proposal.type,
      choice,
      reason: option(ctx, "reason") ?? "",
      app: "x0ctl",
    }),
  );
  ctx.out(ctx.json ? JSON.stringify(receipt) : `${receipt.id} (${wallet.address} voted ${JSON.stringify(choice)})`);
}

async function status(ctx: CommandContext): Promise<void> {
  const [id] = ctx.args;
  if (id !== undefined) {
    const p = await request(ctx.session, `/api/v1/dao/proposals/${id}`, ProposalDetail);
    if (ctx.json) {
      ctx.out(JSON.stringify(p, null, 2));
      return;
    }
    ctx.out(`${p.title} (${p.type}, ${p.state}${p.tally.result ? `: ${p.tally.result}` : ""}), ${p.start} → ${p.end}`);
    ctx.out(
      renderTable(
        ["choice", "score"],
        p.choices.map((c, i) => [c, (p.tally.scores[i] ?? 0).toFixed(4)]),
      ),
    );
    ctx.out(
      `cast ${p.tally.scoresTotal} by ${p.tally.votes} voters; quorum ${p.tally.quorumMet ? "met" : "not met"}; approval ${(p.tally.approval * 100).toFixed(1)} %`,
    );
    return;
  }
  const space = option(ctx, "space");
  if (space === undefined) throw new ApiError("dao status needs a proposal id or --space ID");
  const { proposals } = await request(ctx.session, `/api/v1/dao/spaces/${space}/proposals`, ProposalList);
  const { executions } = await request(ctx.session, `/api/v1/dao/executions?space=${space}`, ExecutionList);
  if (ctx.json) {
    ctx.out(JSON.stringify({ proposals, executions }, null, 2));
    return;
  }
  const executionOf = (pid: string) => executions.find((e) => e.proposalId === pid);
  ctx.out(
    renderTable(
      ["id", "title", "type", "state", "result", "cast", "execution"],
      proposals.map((p) => [
        `${p.id.slice(0, 10)}…`,
        p.title,
        p.type,
        p.state,
        p.tally.result ?? "",
        String(p.tally.scoresTotal),
        executionStatus(executionOf(p.id)),
      ]),
    ),
  );
}

const executionStatus = (e: ExecutionView | undefined) =>
  e === undefined
    ? ""
    : e.state === "queued"
      ? `queued until ${e.eta}`
      : e.state === "failed"
        ? `failed: ${e.error ?? ""}`
        : e.state;

async function execute(ctx: CommandContext): Promise<void> {
  const run = await request(ctx.session, "/api/v1/dao/executions/run", ExecutionRun, {});
  if (ctx.json) {
    ctx.out(JSON.stringify(run, null, 2));
    return;
  }
  ctx.out(`closed ${String(run.closed)} proposal(s); ran ${String(run.executed.length)} execution(s)`);
  for (const e of run.executed) ctx.out(`  ${e.proposalId}: ${executionStatus(e)}`);
}

async function cancel(ctx: CommandContext): Promise<void> {
  const [id] = ctx.args;
  if (id === undefined || ctx.args.length > 1)
    throw new ApiError("dao cancel needs the proposal id of a queued execution");
  const e = await request(ctx.session, `/api/v1/dao/executions/${id}/cancel`, ExecutionView, {});
  ctx.out(ctx.json ? JSON.stringify(e) : `${e.proposalId}: ${e.state}`);
}

async function space(ctx: CommandContext): Promise<void> {
  const [id, file] = ctx.args;
  if (id === undefined || file === undefined || ctx.args.length > 2)
    throw new ApiError("dao space needs an id and a settings file: x0ctl dao space mesh space.json");
  const settings = checked(SpaceSettings, await jsonFile(file, "dao space"), file);
  const view = await request(ctx.session, `/api/v1/dao/spaces/${id}`, SpaceView, settings, "PUT");
  ctx.out(
    ctx.json
      ? JSON.stringify(view, null, 2)
      : `${view.id}: ${view.name}, ${String(view.admins.length)} admin(s), quorum ${String(view.quorum)}, timelock ${String(view.timelock)} s`,
  );
}

async function balances(ctx: CommandContext): Promise<void> {
  const [id, file] = ctx.args;
  if (id === undefined || file === undefined || ctx.args.length > 2)
    throw new ApiError('dao balances needs an id and a file {"block": N, "balances": {"0x…": "raw amount"}}');
  const upload = checked(BalancesUpload, await jsonFile(file, "dao balances"), file);
  const receipt = await request(ctx.session, `/api/v1/dao/spaces/${id}/balances`, BalancesReceipt, upload, "PUT");
  ctx.out(`${String(receipt.addresses)} balance(s) at block ${String(receipt.block)}`);
}

async function sync(ctx: CommandContext): Promise<void> {
  const [id] = ctx.args;
  if (id === undefined || ctx.args.length > 1)
    throw new ApiError("dao sync needs the id of a space that mirrors a Snapshot space");
  const s = await request(ctx.session, `/api/v1/dao/spaces/${id}/sync`, HubSync, {});
  ctx.out(
    ctx.json
      ? JSON.stringify(s)
      : `${s.space} from ${s.hub}: ${String(s.proposals)} proposal(s), ${String(s.votes)} vote(s), ${String(s.skipped)} skipped (voting type not tallied here)`,
  );
}

async function keyNew(ctx: CommandContext): Promise<void> {
  const [file] = ctx.args;
  if (file === undefined || ctx.args.length > 1) throw new ApiError("dao key new needs a file to write");
  const wallet = Wallet.createRandom();
  await writePrivate(file, `${wallet.privateKey}\n`);
  ctx.out(wallet.address);
}

export const DAO_COMMANDS: Record<string, Command> = {
  "dao space": { summary: "create or change a governance space from a settings file", args: "ID FILE", run: space },
  "dao balances": { summary: "load token balances at a block (voting power)", args: "ID FILE", run: balances },
  "dao key new": { summary: "write a new wallet key file (0600) and print its address", args: "FILE", run: keyNew },
  "dao propose": {
    summary: "sign a proposal with snapshot.js (--space, --key, --block, --type, --choices, --changes FILE)",
    args: "TITLE",
    run: propose,
  },
  "dao vote": {
    summary: "sign a vote with snapshot.js (--key): for, 2, 1,3 or 1=2,2=1 by voting type",
    args: "PROPOSAL CHOICE",
    run: vote,
  },
  "dao status": {
    summary: "a proposal's tally, or a space's proposals and executions (--space)",
    args: "[PROPOSAL]",
    run: status,
  },
  "dao execute": { summary: "close ended votes and run executions whose timelock passed", run: execute },
  "dao sync": {
    summary: "import a mirrored Snapshot space's proposals, votes and scores from its hub",
    args: "ID",
    run: sync,
  },
  "dao cancel": { summary: "cancel a queued execution during its timelock", args: "PROPOSAL", run: cancel },
};
