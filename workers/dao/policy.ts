import { desc } from "drizzle-orm";
import { PolicySettings, type MeshPolicy, type PolicyChange, type SignedAction } from "../../protocol/index.js";
import { signJson } from "../mape/sign-action.js";
import { boundedDetail } from "../audit/log.js";
import type { Database } from "../db/client.js";
import { meshPolicy } from "../db/schema.js";

/** Where each change lands: a named setting, an approved firmware, or (revocations) the deny list. */
export function policyKey(change: PolicyChange): string | null {
  switch (change.kind) {
    case "detector-threshold":
      return SETTING_OF_DETECTOR[change.detector];
    case "guard-rail":
      return SETTING_OF_LIMIT[change.limit];
    case "bundle-refresh-hint":
      return "bundleRefreshHintSeconds";
    case "approve-firmware":
      return `firmware:${change.version}`;
    case "revoke-identity":
      return null;
  }
}

type Detector = Extract<PolicyChange, { kind: "detector-threshold" }>["detector"];
type Limit = Extract<PolicyChange, { kind: "guard-rail" }>["limit"];
const SETTING_OF_DETECTOR: Record<Detector, keyof PolicySettings> = {
  "link-zscore": "linkZscore",
  "flood-pps": "floodPps",
  "tq-collapse-ratio": "tqCollapseRatio",
};
const SETTING_OF_LIMIT: Record<Limit, keyof PolicySettings> = {
  "cooldown-seconds": "cooldownSeconds",
  "actions-per-node-per-minute": "actionsPerNodePerMinute",
  "isolate-ttl-seconds": "isolateTtlSeconds",
  "max-isolated-share": "maxIsolatedShare",
};

/** The policy as nodes verify it: its exact JSON bytes signed with the action key, a JWS like an action's. */
export const signPolicy = (policy: MeshPolicy, signer: { kid: string; privateKey: CryptoKey }): Promise<SignedAction> =>
  signJson(policy, signer.privateKey, signer.kid);

/** The policy executed proposals have set. */
export async function loadPolicy(db: Database): Promise<MeshPolicy> {
  const rows = await db.select().from(meshPolicy).orderBy(desc(meshPolicy.revision));
  const firmware = rows.filter((r) => r.key.startsWith("firmware:"));
  const settings = rows.filter((r) => !r.key.startsWith("firmware:"));
  return {
    revision: rows[0]?.revision ?? 0,
    settings: PolicySettings.parse(Object.fromEntries(settings.map((r) => [r.key, r.value]))),
    approvedFirmware: firmware
      .map((r) => ({ ...(r.value as { version: string; sha256: string }), proposalId: r.proposalId }))
      .sort((a, b) => a.version.localeCompare(b.version, "en", { numeric: true })),
  };
}

/** Every statement of a step runs only while its marker is absent (?1 proposal, ?2 step). */
const NOT_APPLIED = "NOT EXISTS (SELECT 1 FROM dao_applied_steps WHERE proposal_id = ?1 AND step = ?2)";

export interface Step {
  proposalId: string;
  index: number;
  change: PolicyChange;
  now: number;
}

/**
 * One step as one transaction: the change, its audit row and its marker, each statement a no-op
 * when the marker is already there, so a step that ran is never applied again.
 */
export function stepStatements(d1: D1Database, step: Step): D1PreparedStatement[] {
  const { proposalId, index, now } = step;
  const detail = JSON.stringify(boundedDetail({ step: index, change: step.change }));
  return [
    changeStatement(d1, step),
    d1
      .prepare(
        `INSERT INTO audit_log (ts, actor, action, subject, outcome, detail)
         SELECT ?3, 'dao:executor', 'dao.execution.step', ?1, 'success', ?4 WHERE ${NOT_APPLIED}`,
      )
      .bind(proposalId, index, now, detail),
    d1
      .prepare(
        "INSERT INTO dao_applied_steps (proposal_id, step, applied_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
      )
      .bind(proposalId, index, now),
  ];
}

function changeStatement(d1: D1Database, step: Step): D1PreparedStatement {
  const { change } = step;
  switch (change.kind) {
    case "revoke-identity":
      return d1
        .prepare(
          `INSERT INTO revocations (spiffe_id, serial, reason, revoked_by, revoked_at)
           SELECT ?3, NULL, ?4, ?5, ?6 WHERE ${NOT_APPLIED}`,
        )
        .bind(step.proposalId, step.index, change.spiffeId, change.reason, `dao:${step.proposalId}`, step.now);
    case "approve-firmware":
      return settingStatement(d1, step, { version: change.version, sha256: change.sha256 });
    case "bundle-refresh-hint":
      return settingStatement(d1, step, change.seconds);
    case "detector-threshold":
    case "guard-rail":
      return settingStatement(d1, step, change.value);
  }
}

const settingStatement = (d1: D1Database, step: Step, value: unknown): D1PreparedStatement =>
  d1
    .prepare(
      `INSERT INTO mesh_policy (key, value, proposal_id, revision, applied_at)
       SELECT ?3, ?4, ?1, (SELECT coalesce(max(revision), 0) + 1 FROM mesh_policy), ?5 WHERE ${NOT_APPLIED}
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, proposal_id = excluded.proposal_id,
         revision = excluded.revision, applied_at = excluded.applied_at`,
    )
    .bind(step.proposalId, step.index, policyKey(step.change), JSON.stringify(value), step.now);
