import { prng } from "./prng.js";

/**
 * B.A.T.M.A.N. IV, simulated: originator messages (OGMs) every interval, flooded along the best
 * routes; link quality from the share of a neighbor's OGMs received (rq) and of our own echoed
 * back (eq) over a 64-OGM window, an asymmetric-link penalty, the hop penalty applied when an OGM
 * is forwarded, a 5-OGM ring per route (an OGM that arrives via another neighbor pushes 0 into the
 * others'), and originators purged 200 s after they were last heard. Constants are batman-adv's.
 */
export const TQ_MAX = 255;
export const TQ_LOCAL_WINDOW = 64;
export const TQ_GLOBAL_WINDOW = 5;
export const DEFAULT_HOP_PENALTY = 30;
export const DEFAULT_ORIG_INTERVAL_MS = 1000;
export const PURGE_TIMEOUT_MS = 200_000;
const TTL = 50;

export interface RouteEntry {
  /** The originator. */
  originator: string;
  /** The neighbor this route goes through. */
  neighbor: string;
  /** Average TQ over the route's ring. */
  tq: number;
  lastSeenMs: number;
  best: boolean;
}

interface Route {
  ring: number[];
  lastSeen: number;
}

interface NodeState {
  seqno: number;
  hopPenalty: number;
  /** neighbor → seqnos of its own OGMs received from it directly (rq) */
  received: Map<string, Set<number>>;
  /** neighbor → our seqnos it echoed back (eq) */
  echoed: Map<string, Set<number>>;
  /** originator → neighbor → route */
  routes: Map<string, Map<string, Route>>;
  /** originator → newest seqno seen */
  newest: Map<string, number>;
  /** originator → current best next hop */
  router: Map<string, string>;
  /** neighbor → link TQ, until its windows or our seqno change */
  linkTq: Map<string, { seqno: number; tq: number }>;
  pathSwitches: number;
}

interface Ogm {
  originator: string;
  seqno: number;
  tq: number;
  ttl: number;
  /** Who sent this copy, and who sent it the copy it forwards. */
  from: string;
  prevSender: string;
  /** Rebroadcast only so its single-hop originator can count the echo (BATADV_NOT_BEST_NEXT_HOP). */
  notBest: boolean;
}

/** One copy of an OGM on its way over one link. */
interface Delivery extends Ogm {
  to: string;
}

const avg = (ring: number[]) => (ring.length === 0 ? 0 : Math.round(ring.reduce((a, b) => a + b, 0) / ring.length));
function inWindow(seqnos: Set<number> | undefined, newest: number): number {
  let count = 0;
  for (const s of seqnos ?? []) if (s > newest - TQ_LOCAL_WINDOW && s <= newest) count++;
  return count;
}

export class BatmanIvMesh {
  private readonly nodes = new Map<string, NodeState>();
  /** from → to → loss of that direction; absent: no link. */
  private readonly links = new Map<string, Map<string, number>>();
  private readonly random: () => number;
  private now = 0;

  constructor(ids: readonly string[], seed = 1) {
    for (const id of ids)
      this.nodes.set(id, {
        seqno: 0,
        hopPenalty: DEFAULT_HOP_PENALTY,
        received: new Map(),
        echoed: new Map(),
        routes: new Map(),
        newest: new Map(),
        router: new Map(),
        linkTq: new Map(),
        pathSwitches: 0,
      });
    this.random = prng(seed);
  }

  /** A link both ways, with a loss per direction. */
  connect(a: string, b: string, loss = 0, reverseLoss = loss): void {
    this.outOf(a).set(b, loss);
    this.outOf(b).set(a, reverseLoss);
  }

  disconnect(a: string, b: string): void {
    this.links.get(a)?.delete(b);
    this.links.get(b)?.delete(a);
  }

  /** A node that crashed: every link of it goes. */
  crash(id: string): void {
    for (const to of this.links.get(id)?.keys() ?? []) this.links.get(to)?.delete(id);
    this.links.delete(id);
  }

  setHopPenalty(id: string, penalty: number): void {
    this.state(id).hopPenalty = penalty;
  }

  /** Simulated time, ms since the start. */
  get time(): number {
    return this.now;
  }

  /** OGM intervals up to `ms` of simulated time, at most `maxTicks` (a caller that slept long does not stall). */
  advanceTo(ms: number, maxTicks = 300): void {
    for (let i = 0; i < maxTicks && this.now + DEFAULT_ORIG_INTERVAL_MS <= ms; i++) this.tick();
    if (this.now + DEFAULT_ORIG_INTERVAL_MS <= ms) this.now = ms - (ms % DEFAULT_ORIG_INTERVAL_MS);
  }

  /** One OGM interval: every node originates an OGM, which floods the mesh the way batman IV forwards it. */
  tick(elapsedMs = DEFAULT_ORIG_INTERVAL_MS): void {
    this.now += elapsedMs;
    const queue: Delivery[] = [];
    for (const [id, node] of this.nodes) {
      node.seqno++;
      this.broadcast(
        { originator: id, seqno: node.seqno, tq: TQ_MAX, ttl: TTL, from: id, prevSender: id, notBest: false },
        queue,
      );
    }
    for (let i = 0; i < queue.length; i++) this.receive(queue[i] as Delivery, queue);
    this.purge();
  }

  /** What `batctl originators` shows on one node: every route, the best one marked. */
  originators(id: string): RouteEntry[] {
    const node = this.state(id);
    const out: RouteEntry[] = [];
    for (const [originator, via] of node.routes) {
      for (const [neighbor, route] of via) {
        out.push({
          originator,
          neighbor,
          tq: avg(route.ring),
          lastSeenMs: this.now - route.lastSeen,
          best: node.router.get(originator) === neighbor,
        });
      }
    }
    return out;
  }

  /** Direct neighbors heard within the purge timeout, with when they were last heard. */
  neighbors(id: string): { neighbor: string; lastSeenMs: number }[] {
    return this.originators(id)
      .filter((r) => r.originator === r.neighbor)
      .map((r) => ({ neighbor: r.neighbor, lastSeenMs: r.lastSeenMs }));
  }

  bestNextHop(id: string, originator: string): string | undefined {
    return this.state(id).router.get(originator);
  }

  pathSwitches(id: string): number {
    return this.state(id).pathSwitches;
  }

  private outOf(id: string): Map<string, number> {
    const out = this.links.get(id) ?? new Map<string, number>();
    this.links.set(id, out);
    return out;
  }

  private state(id: string): NodeState {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Sends a copy over every link of `ogm.from`; each copy is lost with that direction's loss. */
  private broadcast(ogm: Ogm, queue: Delivery[]): void {
    for (const [to, loss] of this.links.get(ogm.from) ?? []) {
      if (this.random() < loss) continue;
      queue.push({ ...ogm, to });
    }
  }

  /** Link quality to a neighbor as batman IV computes it: tq_own times the asymmetric-link penalty. */
  private linkTq(node: NodeState, neighbor: string): number {
    const cached = node.linkTq.get(neighbor);
    if (cached?.seqno === node.seqno) return cached.tq;
    const tq = this.computeLinkTq(node, neighbor);
    node.linkTq.set(neighbor, { seqno: node.seqno, tq });
    return tq;
  }

  private computeLinkTq(node: NodeState, neighbor: string): number {
    const rq = inWindow(node.received.get(neighbor), this.newestOf(node, neighbor));
    if (rq === 0) return 0;
    // Echoes of the current OGM may still be on their way: the window ends at the previous one.
    const eq = inWindow(node.echoed.get(neighbor), node.seqno - 1);
    const tqOwn = (TQ_MAX * Math.min(eq, rq)) / rq;
    const invAsym = (TQ_MAX * (TQ_LOCAL_WINDOW - rq) ** 3) / TQ_LOCAL_WINDOW ** 3;
    return (tqOwn * (TQ_MAX - invAsym)) / TQ_MAX;
  }

  private newestOf(node: NodeState, originator: string): number {
    return node.newest.get(originator) ?? 0;
  }

  private receive(copy: Delivery, queue: Delivery[]): void {
    const node = this.state(copy.to);
    if (copy.originator === copy.to) {
      // Our own OGM, rebroadcast by a neighbor that had it from us: it counts towards that link's echo (eq).
      if (copy.prevSender === copy.to) this.remember(node, node.echoed, copy.from, copy.seqno);
      return;
    }
    if (copy.notBest) return;
    const singleHop = copy.originator === copy.from;
    if (singleHop) this.remember(node, node.received, copy.from, copy.seqno);
    const fresh = copy.seqno > this.newestOf(node, copy.originator);
    if (fresh) node.newest.set(copy.originator, copy.seqno);
    const tq = Math.round((copy.tq * this.linkTq(node, copy.from)) / TQ_MAX);
    this.updateRoute(node, copy, tq, fresh);
    if (!fresh || copy.ttl <= 1) return;
    // Forwarded when it came from our best next hop to its originator; a single-hop neighbor's
    // OGM is rebroadcast in any case, marked, so that neighbor can measure the link.
    const fromBest = node.router.get(copy.originator) === copy.from;
    if (!fromBest && !singleHop) return;
    const forwarded = Math.round((tq * (TQ_MAX - node.hopPenalty)) / TQ_MAX);
    this.broadcast(
      { ...copy, tq: forwarded, ttl: copy.ttl - 1, from: copy.to, prevSender: copy.from, notBest: !fromBest },
      queue,
    );
  }

  private updateRoute(node: NodeState, copy: Ogm, tq: number, fresh: boolean): void {
    const via = node.routes.get(copy.originator) ?? new Map<string, Route>();
    node.routes.set(copy.originator, via);
    const route = via.get(copy.from) ?? { ring: [], lastSeen: this.now };
    via.set(copy.from, route);
    if (!fresh && route.lastSeen === this.now) return; // a second copy of this OGM over the same neighbor
    route.ring.push(tq);
    if (route.ring.length > TQ_GLOBAL_WINDOW) route.ring.shift();
    route.lastSeen = this.now;
    if (fresh) {
      for (const [neighbor, other] of via) {
        if (neighbor === copy.from) continue;
        other.ring.push(0);
        if (other.ring.length > TQ_GLOBAL_WINDOW) other.ring.shift();
      }
    }
    this.chooseRouter(node, copy.originator, via);
  }

  private chooseRouter(node: NodeState, originator: string, via: Map<string, Route>): void {
    const current = node.router.get(originator);
    let best = current;
    let bestTq = current ? avg(via.get(current)?.ring ?? []) : -1;
    for (const [neighbor, route] of via) {
      if (avg(route.ring) > bestTq) {
        best = neighbor;
        bestTq = avg(route.ring);
      }
    }
    if (best === undefined || best === current) return;
    if (current !== undefined) node.pathSwitches++;
    node.router.set(originator, best);
  }

  private remember(node: NodeState, windows: Map<string, Set<number>>, neighbor: string, seqno: number): void {
    node.linkTq.delete(neighbor);
    const seen = windows.get(neighbor) ?? new Set<number>();
    seen.add(seqno);
    for (const s of seen) if (s < seqno - TQ_LOCAL_WINDOW) seen.delete(s); // one spare: the echo window lags one OGM
    windows.set(neighbor, seen);
  }

  private purge(): void {
    for (const node of this.nodes.values()) {
      for (const [originator, via] of node.routes) {
        for (const [neighbor, route] of via) if (this.now - route.lastSeen > PURGE_TIMEOUT_MS) via.delete(neighbor);
        if (via.size === 0) {
          node.routes.delete(originator);
          node.router.delete(originator);
        } else if (!via.has(node.router.get(originator) ?? "")) {
          node.router.delete(originator);
          this.chooseRouter(node, originator, via);
        }
      }
    }
  }
}
