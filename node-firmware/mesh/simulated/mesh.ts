import type { ActionParams, InterfaceCounters, NeighborReading } from "../../../protocol/index.js";
import { fnv1a } from "../../lib/hash.js";
import { BatmanIvMesh } from "./batman-iv.js";
import { prng } from "./prng.js";
import type { MeshBackend, MeshSample } from "../backend.js";

/** A link of the modelled mesh with its steady-state quality. */
export interface ModelLink {
  a: string;
  b: string;
  /** 0..1, share of the radio range the two nodes are apart. */
  distance: number;
}

const RADIO_RANGE = 0.45;
const GIVEN_LINK_DISTANCE = 0.3;
/** OGMs simulated before the first sample, so link TQ starts from a full 64-OGM window. */
const WARM_UP_OGMS = 70;
/** A neighbor whose own OGMs stopped arriving this long ago reads as TQ 0: batman keeps the stale value until purge. */
const SILENT_NEIGHBOR_MS = 10_000;

/**
 * Places the peers on a unit square and links those within radio range; components
 * left apart are joined through their closest pair, so the modelled mesh is connected.
 */
export function buildTopology(peers: readonly string[], seed: number): ModelLink[] {
  const ids = [...new Set(peers)].sort();
  const random = prng(seed);
  const position = new Map(ids.map((id) => [id, { x: random(), y: random() }]));
  const distance = (a: string, b: string) => {
    const p = position.get(a);
    const q = position.get(b);
    return p && q ? Math.hypot(p.x - q.x, p.y - q.y) : Infinity;
  };
  const pairs = ids.flatMap((a, i) => ids.slice(i + 1).map((b) => ({ a, b, d: distance(a, b) })));
  const links = pairs.filter((p) => p.d <= RADIO_RANGE);

  const component = new Map(ids.map((id) => [id, id]));
  const root = (id: string): string => {
    let r = id;
    while (component.get(r) !== r) r = component.get(r) as string;
    return r;
  };
  for (const l of links) component.set(root(l.a), root(l.b));
  for (const p of [...pairs].sort((x, y) => x.d - y.d)) {
    if (root(p.a) !== root(p.b)) {
      component.set(root(p.a), root(p.b));
      links.push(p);
    }
  }
  return links.map(({ a, b, d }) => ({ a, b, distance: Math.min(1, d / RADIO_RANGE) }));
}

/** Steady-state reading for a link at a given distance: TQ falls and latency/loss grow with range. */
export function baseQuality(distance: number): Omit<NeighborReading, "neighbor"> {
  return {
    tq: Math.round(255 * (1 - 0.75 * distance ** 2)),
    latencyMs: 1 + 24 * distance,
    loss: 0.25 * distance ** 3,
  };
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/** A B.A.T.M.A.N. IV simulation of `links`, warmed up so TQ starts from a full window. */
export function simulateMesh(ids: readonly string[], links: readonly ModelLink[], seed: number): BatmanIvMesh {
  const batman = new BatmanIvMesh([...new Set(ids)], seed);
  for (const l of links) batman.connect(l.a, l.b, baseQuality(l.distance).loss);
  for (let i = 0; i < WARM_UP_OGMS; i++) batman.tick();
  return batman;
}

/** What Execute has changed in the simulated node, as a router would hold it in batman-adv. */
export interface SimulatedControls {
  hopPenalty: Map<string, number>;
  thresholds: Map<string, number>;
  interfaceRestarts: number;
  probes: number;
}

/**
 * A node's view of the modelled mesh: its neighbors with jittered latency and loss, TQ as
 * B.A.T.M.A.N. IV computes it (the whole mesh simulated in `BatmanIvMesh`, OGMs at 1 s, this
 * node's faults applied), and interface counters.
 */
export class SimulatedMesh implements MeshBackend {
  readonly kind = "simulated";
  readonly controls: SimulatedControls = {
    hopPenalty: new Map(),
    thresholds: new Map(),
    interfaceRestarts: 0,
    probes: 0,
  };
  private readonly neighbors: { id: string; distance: number }[];
  private readonly jitter: () => number;
  private counters: InterfaceCounters = {
    rxBytes: 0,
    txBytes: 0,
    rxPackets: 0,
    txPackets: 0,
    rxDropped: 0,
    txDropped: 0,
  };
  private lastSampleAt: number | undefined;
  private readonly faults = new Map<string, { latencyMs: number; loss: number }>();
  private readonly down = new Set<string>();
  private readonly batman: BatmanIvMesh;
  /** Our clock minus the simulation's, fixed at the first sample. */
  private clockOffset: number | undefined;

  /**
   * Links from the seeded topology, or to exactly `given` (a lab's real links), at a typical
   * distance. `shared`: a simulation of the whole mesh that several nodes read (a benchmark); by
   * default each node simulates the mesh itself, with only its own faults.
   */
  constructor(
    private readonly nodeId: string,
    peers: readonly string[],
    seed: number,
    given?: readonly string[],
    shared?: BatmanIvMesh,
  ) {
    const links = given
      ? given.map((id) => ({ a: nodeId, b: id, distance: GIVEN_LINK_DISTANCE }))
      : buildTopology(peers, seed);
    this.neighbors = links
      .filter((l) => l.a === nodeId || l.b === nodeId)
      .map((l) => ({ id: l.a === nodeId ? l.b : l.a, distance: l.distance }))
      .sort((x, y) => x.id.localeCompare(y.id));
    this.jitter = prng(seed ^ fnv1a(nodeId));
    this.batman = shared ?? simulateMesh(given ? [nodeId, ...given] : peers, links, seed ^ fnv1a(nodeId));
  }

  get neighborIds(): string[] {
    return this.neighbors.map((n) => n.id);
  }

  /** Fault injection: the link to `neighbor` gets this extra latency and loss (OGMs too) until `restore`. */
  degrade(neighbor: string, fault: { latencyMs: number; loss: number }): void {
    this.faults.set(neighbor, fault);
    this.down.delete(neighbor);
    this.batman.connect(this.nodeId, neighbor, Math.min(1, this.baseLoss(neighbor) + fault.loss));
  }

  /** Fault injection: the link to `neighbor` fails outright; batman-adv finds the way round. */
  linkDown(neighbor: string): void {
    this.down.add(neighbor);
    this.batman.disconnect(this.nodeId, neighbor);
  }

  restore(neighbor: string): void {
    this.faults.delete(neighbor);
    this.down.delete(neighbor);
    this.batman.connect(this.nodeId, neighbor, this.baseLoss(neighbor));
  }

  /** Changes of this node's best next hop to any originator: batman-adv's path switches. */
  get pathSwitches(): number {
    return this.batman.pathSwitches(this.nodeId);
  }

  /** batman-adv's best next hop from this node towards `originator`, as the simulation has it. */
  bestNextHop(originator: string): string | undefined {
    return this.batman.bestNextHop(this.nodeId, originator);
  }

  private baseLoss(neighbor: string): number {
    return baseQuality(this.neighbors.find((n) => n.id === neighbor)?.distance ?? GIVEN_LINK_DISTANCE).loss;
  }

  /** The simulation runs on to this sample's time (one OGM a second). */
  private advanceOgms(now: number): void {
    this.clockOffset ??= now - this.batman.time;
    this.batman.advanceTo(now - this.clockOffset);
  }

  sample(now: number): MeshSample {
    this.advanceOgms(now);
    const direct = this.batman.originators(this.nodeId).filter((r) => r.originator === r.neighbor);
    const tq = new Map(direct.map((r) => [r.neighbor, r.lastSeenMs > SILENT_NEIGHBOR_MS ? 0 : r.tq]));
    const neighbors = this.neighbors.map(({ id, distance }) => {
      const fault = this.down.has(id) ? { latencyMs: 0, loss: 1 } : (this.faults.get(id) ?? { latencyMs: 0, loss: 0 });
      const healthy = baseQuality(distance);
      const base = { latencyMs: healthy.latencyMs + fault.latencyMs, loss: Math.min(1, healthy.loss + fault.loss) };
      return {
        neighbor: id,
        tq: clamp(tq.get(id) ?? 0, 0, 255),
        latencyMs: round3(base.latencyMs * (0.9 + this.jitter() * 0.2)),
        loss: round3(clamp(base.loss * (0.8 + this.jitter() * 0.4), 0, 1)),
      };
    });
    this.advanceCounters(now, neighbors);
    return { neighbors, counters: { ...this.counters } };
  }

  apply(params: ActionParams, _now: number): Promise<void> {
    const c = this.controls;
    switch (params.kind) {
      case "reroute":
        if (!this.neighbors.some((n) => n.id === params.neighbor))
          return Promise.reject(new Error(`${params.neighbor} is not a neighbor`));
        c.hopPenalty.set(params.neighbor, params.hopPenalty);
        break;
      case "isolate_source":
      case "rate_limit":
        return Promise.reject(new Error(`${params.kind} is the data plane's, not the mesh's`));
      case "restart_interface":
        c.interfaceRestarts++;
        this.counters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 };
        break;
      case "retry_probe":
        c.probes++;
        break;
      case "set_threshold":
        c.thresholds.set(params.metric, params.value);
        break;
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** OGMs and payload: about 2 kB/s per neighbor, drops in proportion to loss. */
  private advanceCounters(now: number, neighbors: NeighborReading[]): void {
    const elapsedS = this.lastSampleAt === undefined ? 0 : Math.max(0, now - this.lastSampleAt) / 1000;
    this.lastSampleAt = now;
    for (const n of neighbors) {
      const packets = Math.round(elapsedS * 10);
      const dropped = Math.round(packets * n.loss);
      this.counters.rxPackets += packets - dropped;
      this.counters.txPackets += packets;
      this.counters.rxBytes += (packets - dropped) * 200;
      this.counters.txBytes += packets * 200;
      this.counters.rxDropped += dropped;
    }
  }
}
