import { parseSharedFilter, topicMatches } from "../../protocol/index.js";
import { fnv1a } from "../lib/hash.js";
import { beforeAedesSees, type AedesPublishPacket, type Client, type ParsedPacket } from "./aedes.js";

/**
 * MQTT 5 shared subscriptions (`$share/<group>/<filter>`) for aedes, which refuses them.
 * A `$share` SUBSCRIBE is rewritten, before aedes sees it, into a plain subscription to
 * `<filter>` plus group membership; `allowForward` then lets exactly one member of each
 * group receive a message. The member is chosen by a hash of the topic, so one publisher's
 * messages keep their order through one subscriber (EMQX calls this strategy `hash_topic`).
 * Limitation: a client that holds both a shared and a plain subscription on overlapping
 * filters is treated as shared for them.
 */
export class SharedSubscriptions {
  /** `group\0filter` → member client ids */
  private readonly groups = new Map<string, Set<string>>();

  attach(client: Client): void {
    beforeAedesSees(client, (packet) => {
      this.rewrite(client, packet);
    });
  }

  /** Call from aedes' `authorizeForward`: false when another member of a group should get this message. */
  allowForward(client: Client, packet: AedesPublishPacket): boolean {
    for (const [key, members] of this.groups) {
      if (!members.has(client.id)) continue;
      const filter = key.slice(key.indexOf("\0") + 1);
      if (!topicMatches(filter, packet.topic)) continue;
      const ordered = [...members].sort();
      if (ordered[fnv1a(packet.topic) % ordered.length] !== client.id) return false;
    }
    return true;
  }

  forget(clientId: string): void {
    for (const [key, members] of this.groups) {
      members.delete(clientId);
      if (members.size === 0) this.groups.delete(key);
    }
  }

  memberCount(group: string, filter: string): number {
    return this.groups.get(`${group}\0${filter}`)?.size ?? 0;
  }

  private rewrite(client: Client, packet: ParsedPacket): void {
    if (packet.cmd === "subscribe") {
      for (const sub of packet.subscriptions ?? []) {
        const shared = parseSharedFilter(sub.topic);
        if (!shared) continue;
        sub.topic = shared.filter;
        const key = `${shared.group}\0${shared.filter}`;
        const members = this.groups.get(key) ?? new Set<string>();
        members.add(client.id);
        this.groups.set(key, members);
      }
    } else if (packet.cmd === "unsubscribe" && packet.unsubscriptions) {
      packet.unsubscriptions = packet.unsubscriptions.map((topic) => {
        const shared = parseSharedFilter(topic);
        if (!shared) return topic;
        this.groups.get(`${shared.group}\0${shared.filter}`)?.delete(client.id);
        return shared.filter;
      });
    }
  }
}
