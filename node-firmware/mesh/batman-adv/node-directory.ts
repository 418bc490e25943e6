/**
 * Which node an originator address (a node's primary mesh MAC, as batman-adv names it) belongs
 * to: from the node's configuration, or heard from the node itself over mDNS. batman-adv knows
 * only MACs; telemetry speaks of node ids.
 */
export class NodeDirectory {
  private readonly byMac = new Map<string, string>();
  private readonly pinned = new Set<string>();

  /** Configured entries are pinned: an announcement (mDNS is unauthenticated) cannot rename them. */
  constructor(configured: Readonly<Record<string, string>> = {}) {
    for (const [mac, nodeId] of Object.entries(configured)) {
      this.byMac.set(mac.toLowerCase(), nodeId);
      this.pinned.add(mac.toLowerCase());
    }
  }

  /** A node's own announcement of its originator address. */
  heard(mac: string, nodeId: string): void {
    if (!this.pinned.has(mac.toLowerCase())) this.byMac.set(mac.toLowerCase(), nodeId);
  }

  nodeIdOf(mac: string): string | undefined {
    return this.byMac.get(mac.toLowerCase());
  }

  macOf(nodeId: string): string | undefined {
    for (const [mac, id] of this.byMac) if (id === nodeId) return mac;
    return undefined;
  }
}
