import { EventEmitter } from "node:events";
import { networkInterfaces } from "node:os";
import { Bonjour, type Browser, type Service } from "bonjour-service";
import { DISCOVERY_SERVICE_TYPE, PeerAnnouncementTxt, type PeerAnnouncementRecord } from "../../protocol/index.js";
import { errorText, type Logger } from "../lib/log.js";

/** What a node says about itself on the mesh. */
export interface SelfAnnouncement {
  nodeId: string;
  spiffeId: string;
  /** Holds an SVID for `spiffeId`, rather than only claiming it. */
  attested: boolean;
  firmware: string;
  /** The MACs of this node's batman-adv interfaces (primary first), so that peers can name it in their tables. */
  macs?: string[];
}

export interface Peer extends SelfAnnouncement {
  /** Where it answered from, and on which of our interfaces. */
  address: string;
  interface: string;
}

/** The IPv4 address of a local interface, or undefined when it has none (yet). */
export function interfaceAddress(name: string): string | undefined {
  return networkInterfaces()[name]?.find((a) => a.family === "IPv4")?.address;
}

const ipv4Number = (address: string) => address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);

function sameSubnet(a: string, b: string, prefixBits: number): boolean {
  const hostSpan = 2 ** (32 - prefixBits);
  return Math.floor(ipv4Number(a) / hostSpan) === Math.floor(ipv4Number(b) / hostSpan);
}

/** Which of `interfaces` has `address` on its subnet: the link a peer answered on. */
export function interfaceFor(address: string, interfaces: readonly string[]): string | undefined {
  const all = networkInterfaces();
  return interfaces.find((name) =>
    all[name]?.some((a) => a.family === "IPv4" && sameSubnet(a.address, address, Number(a.cidr?.split("/")[1] ?? 32))),
  );
}

/** A peer from a DNS-SD service heard on one of `interfaces`, or the reason it is not one. */
export function peerFrom(
  service: Pick<Service, "txt" | "addresses" | "referer">,
  interfaces: readonly string[],
): { ok: true; peer: Peer } | { ok: false; reason: string } {
  const txt = PeerAnnouncementTxt.safeParse(service.txt);
  if (!txt.success)
    return { ok: false, reason: txt.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ") };
  const address = service.referer?.address ?? service.addresses?.[0];
  if (!address) return { ok: false, reason: "no address" };
  const iface = interfaceFor(address, interfaces);
  if (!iface) return { ok: false, reason: `${address} is on none of our mesh links` };
  const { id, spiffe, fw, att, macs } = txt.data;
  const peer: Peer = { nodeId: id, spiffeId: spiffe, firmware: fw, attested: att === "1", address, interface: iface };
  return { ok: true, peer: macs === undefined ? peer : { ...peer, macs } };
}

const PORT_UNUSED = 9; // DNS-SD wants a port; the announcement is about the node, not a service on it

/**
 * Dynamic peer discovery over mDNS (DNS-SD, bonjour-service) on the node's mesh interfaces: each
 * announces this node and browses for the others. Emits `peer` when one appears (or changes) and
 * `lost` when it says goodbye or expires. Announcements that do not parse are counted, not trusted.
 */
export class MeshDiscovery extends EventEmitter<{ peer: [Peer]; lost: [Peer] }> {
  rejected = 0;
  private readonly known = new Map<string, Peer>();
  private readonly instances: { bonjour: Bonjour; browser: Browser }[] = [];

  constructor(
    private self: SelfAnnouncement,
    private readonly log: Logger,
  ) {
    super();
  }

  get peers(): Peer[] {
    return [...this.known.values()];
  }

  /** Starts on every interface that has an IPv4 address; says which it could not use. */
  start(interfaces: readonly string[]): void {
    for (const iface of interfaces) {
      const address = interfaceAddress(iface);
      if (!address) {
        this.log.warn("discovery: interface has no IPv4 address, skipped", { interface: iface });
        continue;
      }
      // Bound to any address, multicast out of this interface: bound to its address the socket would miss
      // multicast. Linux hands every such socket the group's packets from all interfaces
      // (IP_MULTICAST_ALL), so a peer's link is taken from its address, and our own name seen on
      // another of our links is no conflict (no probing).
      const bonjour = new Bonjour({ interface: address, bind: "0.0.0.0" } as never, (error: unknown) => {
        this.log.warn("discovery error", { interface: iface, error: errorText(error) });
      });
      bonjour.publish(this.service());
      const browser = bonjour.find({ type: DISCOVERY_SERVICE_TYPE, protocol: "udp" });
      browser.on("up", (service) => {
        this.seen(service, interfaces);
      });
      browser.on("txt-update", (service) => {
        this.seen(service, interfaces);
      });
      browser.on("down", (service) => {
        this.gone(service, interfaces);
      });
      this.instances.push({ bonjour, browser });
    }
  }

  /** Announces again, for instance once the node holds an SVID. */
  update(self: SelfAnnouncement): void {
    this.self = self;
    for (const { bonjour } of this.instances) {
      bonjour.unpublishAll(() => {
        bonjour.publish(this.service());
      });
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.instances.splice(0).map(
        ({ bonjour, browser }) =>
          new Promise<void>((resolve) => {
            browser.stop();
            // Goodbye packets first, so peers drop us now rather than at TTL expiry.
            bonjour.unpublishAll(() => {
              bonjour.destroy(() => {
                resolve();
              });
            });
          }),
      ),
    );
  }

  private service() {
    const txt: PeerAnnouncementRecord = {
      id: this.self.nodeId,
      spiffe: this.self.spiffeId,
      fw: this.self.firmware,
      att: this.self.attested ? "1" : "0",
      ...(this.self.macs === undefined ? {} : { macs: this.self.macs.join(",") }),
    };
    return {
      name: this.self.nodeId,
      type: DISCOVERY_SERVICE_TYPE,
      protocol: "udp" as const,
      port: PORT_UNUSED,
      txt,
      disableIPv6: true,
      probe: false,
    };
  }

  private seen(service: Service, interfaces: readonly string[]): void {
    const result = peerFrom(service, interfaces);
    if (!result.ok) {
      this.rejected++;
      this.log.debug("discovery: announcement ignored", { reason: result.reason });
      return;
    }
    const { peer } = result;
    if (peer.nodeId === this.self.nodeId) return;
    const before = this.known.get(peer.nodeId);
    this.known.set(peer.nodeId, peer);
    if (!before || JSON.stringify(before) !== JSON.stringify(peer)) this.emit("peer", peer);
  }

  private gone(service: Service, interfaces: readonly string[]): void {
    const result = peerFrom(service, interfaces);
    if (!result.ok) return;
    const known = this.known.get(result.peer.nodeId);
    if (!known) return;
    this.known.delete(known.nodeId);
    this.emit("lost", known);
  }
}
