/**
 * The one module that touches aedes, a 2.0 beta pinned exactly (see
 * test/node-firmware/mqtt/aedes-pin.test.ts before moving the pin): the broker class and packet
 * types the embedded broker uses, and the one private part of aedes we rely on, its packet parser.
 */
export { Aedes } from "aedes";
export type { AedesPublishPacket, Client, PublishPacket, Subscription } from "aedes";
import type { Client } from "aedes";

/** What aedes' parser emits, as far as shared subscriptions read it. */
export interface ParsedPacket {
  cmd: string;
  subscriptions?: { topic: string }[];
  unsubscriptions?: string[];
}

interface ClientWithParser {
  _parser?: { prependListener(event: "packet", listener: (packet: ParsedPacket) => void): void };
}

/** Runs `listener` on each packet a client sends, before aedes handles it (so it may rewrite it). */
export function beforeAedesSees(client: Client, listener: (packet: ParsedPacket) => void): void {
  const parser = (client as unknown as ClientWithParser)._parser;
  if (!parser) throw new Error("aedes client has no packet parser: shared subscriptions cannot be attached");
  parser.prependListener("packet", listener);
}
