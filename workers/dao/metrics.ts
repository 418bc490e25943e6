import { like, sql } from "drizzle-orm";
import { RefusalReason } from "../../protocol/index.js";
import type { Database } from "../db/client.js";
import { daoExecutions, daoMessages, daoProposals, refusals } from "../db/schema.js";
import type { MetricFamily } from "../metrics/exposition.js";
import { HANDLED_KINDS } from "./snapshot/types.js";

/** Refused messages are counted in the refusal counters (per reason, per sender, per minute) under this prefix. */
export const REFUSAL_PREFIX = "dao:";

const PROPOSAL_STATES = ["active", "closed", "cancelled"] as const;
const EXECUTION_STATES = ["queued", "running", "done", "failed", "cancelled"] as const;

/** Governance as D1 holds it: messages accepted and refused, proposals by state, executions by outcome. */
export async function daoFamilies(db: Database): Promise<MetricFamily[]> {
  const [accepted, refused, proposals, executions] = await Promise.all([
    db
      .select({ key: daoMessages.kind, n: sql<number>`count(*)` })
      .from(daoMessages)
      .groupBy(daoMessages.kind),
    db
      .select({ key: refusals.reason, n: sql<number>`sum(${refusals.count})` })
      .from(refusals)
      .where(like(refusals.reason, `${REFUSAL_PREFIX}%`))
      .groupBy(refusals.reason),
    db
      .select({ key: daoProposals.state, n: sql<number>`count(*)` })
      .from(daoProposals)
      .groupBy(daoProposals.state),
    db
      .select({ key: daoExecutions.state, n: sql<number>`count(*)` })
      .from(daoExecutions)
      .groupBy(daoExecutions.state),
  ]);
  const count = (rows: { key: string; n: number }[], key: string) => rows.find((r) => r.key === key)?.n ?? 0;
  return [
    {
      name: "x0_dao_messages_accepted_total",
      type: "counter",
      help: "Signed Snapshot messages accepted, by kind",
      samples: HANDLED_KINDS.map((kind) => ({ labels: { kind }, value: count(accepted, kind) })),
    },
    {
      name: "x0_dao_messages_refused_total",
      type: "counter",
      help: "Signed Snapshot messages refused, by reason (kept for the audit retention)",
      samples: RefusalReason.options.map((reason) => ({
        labels: { reason },
        value: count(refused, `${REFUSAL_PREFIX}${reason}`),
      })),
    },
    {
      name: "x0_dao_proposals",
      type: "gauge",
      help: "Proposals by state (active: open for voting, or waiting to start)",
      samples: PROPOSAL_STATES.map((state) => ({ labels: { state }, value: count(proposals, state) })),
    },
    {
      name: "x0_dao_executions",
      type: "gauge",
      help: "Executions of passed proposals by state: queued (timelock), running, done, failed, cancelled",
      samples: EXECUTION_STATES.map((state) => ({ labels: { state }, value: count(executions, state) })),
    },
  ];
}
