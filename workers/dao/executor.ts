import type { PolicyChange } from "../../protocol/index.js";
import { parseSpiffeId } from "../../spiffe/index.js";
import { auditStatement } from "../audit/log.js";
import type { DaoDeps } from "./messages.js";
import { loadPolicy, stepStatements } from "./policy.js";
import { appliedSteps, dueExecutions, executionState, getExecution, type ExecutionRow } from "./store.js";

/** Executions run per call; the cron trigger and the next call take the rest. */
const EXECUTE_BATCH = 20;

export interface ExecutorDeps extends DaoDeps {
  trustDomain: string;
}

/**
 * Runs every execution whose timelock has passed, step by step. A step and its marker commit
 * together, so a run that is interrupted (or two that overlap) resumes where the last left off
 * and applies nothing twice. A step that cannot apply stops its execution, which stays failed
 * and visible with the reason.
 */
export async function runDueExecutions(deps: ExecutorDeps): Promise<ExecutionRow[]> {
  const due = await dueExecutions(deps.db, deps.now(), EXECUTE_BATCH);
  const finished: ExecutionRow[] = [];
  for (const execution of due) {
    await execute(deps, execution);
    const after = await getExecution(deps.db, execution.proposalId);
    if (after) finished.push(after);
  }
  return finished;
}

async function execute(deps: ExecutorDeps, execution: ExecutionRow): Promise<void> {
  const { proposalId } = execution;
  await executionState(deps.db, proposalId, ["queued"], { state: "running", updatedAt: deps.now() });
  const applied = (await appliedSteps(deps.db, [proposalId])).get(proposalId) ?? new Map<number, number>();
  for (const [index, change] of execution.changes.entries()) {
    if (applied.has(index)) continue;
    const problem = await preflight(deps, change);
    if (problem !== null) return fail(deps, execution, `step ${String(index)} (${change.kind}): ${problem}`);
    try {
      await deps.d1.batch(stepStatements(deps.d1, { proposalId, index, change, now: deps.now() }));
    } catch (error) {
      return fail(deps, execution, `step ${String(index)} (${change.kind}): ${String(error)}`);
    }
  }
  await deps.db.batch([
    executionState(deps.db, proposalId, ["running"], { state: "done", updatedAt: deps.now() }),
    auditStatement(
      deps.db,
      { actor: "dao:executor", action: "dao.execution.done", subject: proposalId, outcome: "success" },
      deps.now(),
    ),
  ]);
}

/** Why a change cannot apply now, or null: checked before its step, so a refused step changes nothing. */
async function preflight(deps: ExecutorDeps, change: PolicyChange): Promise<string | null> {
  if (change.kind === "revoke-identity") {
    const id = parseSpiffeId(change.spiffeId);
    if (id.ok && id.id.trustDomain !== deps.trustDomain)
      return `${change.spiffeId} is not of this trust domain (${deps.trustDomain})`;
  }
  if (change.kind === "approve-firmware") {
    const policy = await loadPolicy(deps.db);
    const earlier = policy.approvedFirmware.find((f) => f.version === change.version);
    if (earlier && earlier.sha256 !== change.sha256)
      return `version ${change.version} was approved with another SHA-256 by proposal ${earlier.proposalId}`;
  }
  return null;
}

async function fail(deps: ExecutorDeps, execution: ExecutionRow, error: string): Promise<void> {
  await deps.db.batch([
    executionState(deps.db, execution.proposalId, ["running"], { state: "failed", error, updatedAt: deps.now() }),
    auditStatement(
      deps.db,
      {
        actor: "dao:executor",
        action: "dao.execution.failed",
        subject: execution.proposalId,
        outcome: "error",
        detail: { error },
      },
      deps.now(),
    ),
  ]);
}
