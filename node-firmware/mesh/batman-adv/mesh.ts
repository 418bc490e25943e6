import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ActionParams, InterfaceCounters, NeighborReading, Route } from "../../../protocol/index.js";
import { readCountersOf } from "../../dataplane/sysfs.js";
import { systemClock, type Cancel, type Clock } from "../../lib/clock.js";
import { errorText, type Logger } from "../../lib/log.js";
import type { MeshBackend, MeshSample } from "../backend.js";
import { PathSwitches, type Batctl } from "./batctl.js";
import type { NodeDirectory } from "./node-directory.js";

export interface BatmanAdvOptions {
  /** batctl's originator table is read at most this often. */
  refreshMs: number;
  /**
   * A neighbor whose OGMs stopped arriving this long ago reads as TQ 0 and loss 1. batman-adv IV
   * keeps the last TQ of a vanished neighbor until its 200 s purge; last-seen shows it gone within
   * a few OGM intervals.
   */
  silentAfterMs: number;
  /** Each neighbor gets a batman-adv echo (`batctl ping`) this often, for the link's latency. */
  probeIntervalMs: number;
  /** Interfaces whose counters are the node's (the mesh interface). */
  counterInterfaces: readonly string[];
  /** Where interfaces are read from; /sys/class/net but in tests. */
  sysfsRoot?: string;
}

const ZERO: InterfaceCounters = { rxBytes: 0, txBytes: 0, rxPackets: 0, txPackets: 0, rxDropped: 0, txDropped: 0 };
const round3 = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Loss from TQ. batman-adv IV's TQ of a direct link is the share of OGMs that make it both ways
 * (receive quality × echo quality), so with the same loss each way TQ/255 ≈ (1 − loss)². An
 * estimate: batman-adv measures no loss of its own.
 */
export const lossOfTq = (tq: number): number => round3(1 - Math.sqrt(Math.min(255, Math.max(0, tq)) / 255));

/**
 * The real mesh: a node's view of batman-adv through batctl (its originator table, read at a
 * bounded interval; latency from batman-adv echoes), neighbors named by node id through the
 * directory, and routing actions applied with batctl on the kernel's batman-adv.
 */
export class BatmanAdvMesh implements MeshBackend {
  readonly kind = "batman-adv";
  /** Failed reads of batctl or the counters; the last good reading stays in use meanwhile. */
  readFailures = 0;
  private routes: Route[] = [];
  private readAt = 0;
  private counters: InterfaceCounters = ZERO;
  private readonly switches = new PathSwitches();
  private readonly latencyMs = new Map<string, number>();
  /** Each neighbor's link interface when last seen: a neighbor forgotten is still routed around there. */
  private readonly lastInterface = new Map<string, string>();
  /** Neighbors forgotten while silent: their link, and its hop penalty before. */
  private readonly forgotten = new Map<string, { hardInterface: string; hopPenalty: number }>();
  private cancelRead: Cancel | undefined;
  private cancelProbe: Cancel | undefined;
  private closed = false;

  private constructor(
    private readonly batctl: Batctl,
    private readonly directory: NodeDirectory,
    private readonly options: BatmanAdvOptions,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** Reads the tables once (a batctl or batman-adv that is not there fails here), then keeps reading. */
  static async open(
    batctl: Batctl,
    directory: NodeDirectory,
    options: BatmanAdvOptions,
    log: Logger,
    clock: Clock = systemClock,
  ): Promise<BatmanAdvMesh> {
    const mesh = new BatmanAdvMesh(batctl, directory, options, log, clock);
    await mesh.read();
    mesh.scheduleRead();
    mesh.scheduleProbe(0);
    return mesh;
  }

  /** Direct neighbors (a node that is its own next hop) known to the directory. */
  get neighborIds(): string[] {
    return [...this.direct().keys()];
  }

  get pathSwitches(): number {
    return this.switches.total;
  }

  sample(now: number): MeshSample {
    const neighbors: NeighborReading[] = [...this.direct()].map(([neighbor, route]) => {
      const silent = this.isSilent(route, now);
      const tq = silent ? 0 : route.tq;
      return { neighbor, tq, latencyMs: this.latencyMs.get(neighbor) ?? 0, loss: silent ? 1 : lossOfTq(tq) };
    });
    return { neighbors, counters: { ...this.counters } };
  }

  async apply(params: ActionParams): Promise<void> {
    switch (params.kind) {
      case "reroute":
        await this.routeAround(params.neighbor, params.hopPenalty);
        return;
      case "retry_probe":
        await this.probe(params.neighbor);
        return;
      case "set_threshold":
        throw new Error("set_threshold has nothing to set on batman-adv: thresholds are Analyze's, at the edge");
      case "restart_interface":
        throw new Error("restart_interface is not done on batman-adv: the router's network manager owns its links");
      case "isolate_source":
      case "rate_limit":
        throw new Error(`${params.kind} is the data plane's, not the mesh's`);
    }
  }

  /**
   * Routes around `neighbor`: batman-adv has hop penalties per hard interface, and the link's own
   * interface gets it. A neighbor that fell silent, alone on a link interface, is also forgotten
   * at once: the interface leaves the mesh and rejoins it, which purges the routes through that
   * neighbor (batman-adv IV itself keeps using them until newer OGMs outvote them, about five OGM
   * intervals); the primary interface never leaves (it names the node), nor one with other
   * neighbors on it. A forgotten neighbor's link gets its old penalty back once the neighbor is
   * heard again: the link is back. A penalty for a link still heard (degraded) stays: the edge
   * asked for it.
   */
  private async routeAround(neighbor: string, hopPenalty: number): Promise<void> {
    const route = this.direct().get(neighbor);
    const hardInterface = route?.interface ?? this.lastInterface.get(neighbor);
    if (!hardInterface) throw new Error(`${neighbor} is not a direct neighbor in batman-adv's table`);
    if (route && this.isSilent(route, this.clock.now()) && (await this.forgettable(route))) {
      const before = await this.batctl.hopPenalty(hardInterface);
      if (!this.forgotten.has(neighbor)) this.forgotten.set(neighbor, { hardInterface, hopPenalty: before });
      await this.batctl.removeInterface(hardInterface);
      await this.batctl.addInterface(hardInterface);
      this.log.info("batman-adv forgot a silent neighbor: its link interface rejoined the mesh", {
        neighbor,
        interface: hardInterface,
      });
      await this.read();
    }
    await this.batctl.setHopPenalty(hopPenalty, hardInterface);
  }

  /** Whether `route`'s interface may leave the mesh for a moment: not the primary, no other neighbor on it. */
  private async forgettable(route: Route): Promise<boolean> {
    const others = this.routes.some((r) => r.interface === route.interface && r.nextHop !== route.nextHop);
    if (others) return false;
    const { hard_ifname: primary } = await this.batctl.settings();
    return primary !== undefined && primary !== route.interface;
  }

  private isSilent(route: Route, now: number): boolean {
    return route.lastSeenMs + Math.max(0, now - this.readAt) > this.options.silentAfterMs;
  }

  /**
   * The MACs of batman-adv's hard interfaces, the primary's first: it is the node's originator
   * address; the others name it to neighbors on its other links.
   */
  async interfaceAddresses(): Promise<string[]> {
    const root = this.options.sysfsRoot ?? "/sys/class/net";
    const [interfaces, { hard_ifname: primary }] = await Promise.all([
      this.batctl.interfaces(),
      this.batctl.settings(),
    ]);
    const ordered = [...interfaces].sort((a, b) => Number(b === primary) - Number(a === primary));
    return Promise.all(ordered.map(async (name) => (await readFile(join(root, name, "address"), "utf8")).trim()));
  }

  close(): Promise<void> {
    this.closed = true;
    this.cancelRead?.();
    this.cancelProbe?.();
    return Promise.resolve();
  }

  /**
   * The best route of each direct neighbor the directory can name: a route whose next hop is the
   * originator itself, by one of its link addresses (a node whose primary interface is not a link,
   * such as a dummy, is reached at the MAC of its link interface, never at its originator address).
   */
  private direct(): Map<string, Route> {
    const byNode = new Map<string, Route>();
    for (const route of this.routes) {
      const nodeId = this.directory.nodeIdOf(route.originator);
      if (nodeId === undefined || this.directory.nodeIdOf(route.nextHop) !== nodeId) continue;
      const known = byNode.get(nodeId);
      if (!known || route.tq > known.tq) byNode.set(nodeId, route);
    }
    return byNode;
  }

  private async read(): Promise<void> {
    const [routes, counters] = await Promise.all([
      this.batctl.originators(),
      readCountersOf(this.options.counterInterfaces, this.options.sysfsRoot),
    ]);
    this.routes = routes;
    this.counters = counters;
    this.readAt = this.clock.now();
    this.switches.observe(routes);
    for (const [neighbor, route] of this.direct()) this.lastInterface.set(neighbor, route.interface);
    await this.liftWhenBack();
  }

  /** A forgotten neighbor heard again on its link: that link's penalty goes back to what it was. */
  private async liftWhenBack(): Promise<void> {
    const heard = this.direct();
    for (const [neighbor, { hardInterface, hopPenalty }] of this.forgotten) {
      const route = heard.get(neighbor);
      if (!route || route.interface !== hardInterface || this.isSilent(route, this.readAt)) continue;
      await this.batctl.setHopPenalty(hopPenalty, hardInterface);
      this.forgotten.delete(neighbor);
      this.log.info("a forgotten neighbor is heard again: its link's hop penalty is lifted", {
        neighbor,
        interface: hardInterface,
        hopPenalty,
      });
    }
  }

  private scheduleRead(): void {
    if (this.closed) return;
    this.cancelRead = this.clock.after(
      this.options.refreshMs,
      () => {
        this.read()
          .catch((error: unknown) => {
            if (this.readFailures++ === 0) this.log.warn("batman-adv read failed", { error: errorText(error) });
          })
          .finally(() => {
            this.scheduleRead();
          });
      },
      { background: true },
    );
  }

  /** One neighbor per turn, so echoes spread over the interval rather than burst. */
  private scheduleProbe(turn: number): void {
    if (this.closed) return;
    const neighbors = this.neighborIds;
    const wait = this.options.probeIntervalMs / Math.max(1, neighbors.length);
    this.cancelProbe = this.clock.after(
      turn === 0 ? 0 : wait,
      () => {
        const neighbor = neighbors[turn % Math.max(1, neighbors.length)];
        void (neighbor === undefined ? Promise.resolve() : this.probe(neighbor)).finally(() => {
          this.scheduleProbe(turn + 1);
        });
      },
      { background: true },
    );
  }

  private async probe(neighbor: string): Promise<void> {
    const mac = this.directory.macOf(neighbor);
    if (!mac) throw new Error(`${neighbor} has no known originator address`);
    const rtt = await this.batctl.ping(mac).catch((error: unknown) => {
      this.log.warn("batman-adv echo failed", { neighbor, error: errorText(error) });
      return undefined;
    });
    // An echo lost is no latency: the last one measured stands (0 until the first returns).
    if (rtt !== undefined) this.latencyMs.set(neighbor, round3(rtt));
  }
}
