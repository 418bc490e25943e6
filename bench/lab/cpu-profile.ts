/**
 * What a V8 CPU profile (`node --cpu-prof`) says a process's JavaScript thread spent in each group
 * of code, callees included: the direct cost of that code, which a comparison of whole processes
 * side by side cannot separate from what differs between two processes' JITs.
 */

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The `.cpuprofile` JSON that `--cpu-prof` writes (times in microseconds). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A group of code, by the URL of its functions. */
export interface CodeGroup {
  name: string;
  matches: (url: string) => boolean;
}

export interface GroupShares {
  /** Seconds of the profile read, after the skipped start. */
  seconds: number;
  /** The JavaScript thread's busy time (idle excluded), ms per second. */
  busyMsPerS: number;
  /** Each group's time, callees included, ms per second. */
  groups: Record<string, number>;
}

const IDLE = "(idle)";

/**
 * Each sample after the first `skipS` seconds goes to the innermost frame of its stack that
 * belongs to a group: prom-client called from the agent's metrics counts once, as prom-client.
 */
export function groupShares(profile: CpuProfile, groups: readonly CodeGroup[], skipS = 0): GroupShares {
  const groupOfNode = innermostGroups(profile.nodes, groups);
  const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === IDLE).map((n) => n.id));
  const from = profile.startTime + skipS * 1e6;
  const totals: Record<string, number> = Object.fromEntries(groups.map((g) => [g.name, 0]));
  let busy = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || idle.has(id)) return;
    busy += delta;
    const group = groupOfNode.get(id);
    if (group !== undefined) totals[group] = (totals[group] ?? 0) + delta;
  });
  const seconds = Math.max(0, (profile.endTime - from) / 1e6);
  const perSecond = (us: number) => (seconds > 0 ? us / 1000 / seconds : 0);
  return {
    seconds,
    busyMsPerS: perSecond(busy),
    groups: Object.fromEntries(Object.entries(totals).map(([name, us]) => [name, perSecond(us)])),
  };
}

/** For every node, the group of the innermost frame on its stack that has one. */
function innermostGroups(nodes: readonly ProfileNode[], groups: readonly CodeGroup[]): Map<number, string> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const result = new Map<number, string>();
  const visit = (id: number, inherited: string | undefined) => {
    const node = byId.get(id);
    if (!node) return;
    const own = groups.find((g) => g.matches(node.callFrame.url))?.name ?? inherited;
    if (own !== undefined) result.set(id, own);
    for (const child of node.children ?? []) visit(child, own);
  };
  const children = new Set(nodes.flatMap((n) => n.children ?? []));
  for (const root of nodes.filter((n) => !children.has(n.id))) visit(root.id, undefined);
  return result;
}
