/**
 * The delay before retry number `attempt` (from 0): exponential backoff with full jitter, at
 * least `initialMs`, at most `maxMs`. The one retry schedule of the project: edge deliveries,
 * attestation, trace export and the local stack's restarts all use it.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(initialMs, Math.round(random() * ceiling));
}
