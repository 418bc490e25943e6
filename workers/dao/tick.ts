import { closeEndedProposals } from "./close.js";
import { runDueExecutions, type ExecutorDeps } from "./executor.js";

/** What the cron trigger (and `POST /api/v1/dao/executions/run`) does: close ended votes, then run due executions. */
export async function governanceTick(deps: ExecutorDeps) {
  const closed = await closeEndedProposals(deps);
  return { closed, executed: await runDueExecutions(deps) };
}
