import { createServer, type Server } from "node:net";
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from "aedes";
import { decodeNodeMessage } from "../../protocol/index.js";
import { errorText, type Logger } from "../log.js";
import { RejectionNotifier } from "./rejections.js";
import { SharedSubscriptions } from "./shared-subscriptions.js";

export interface BrokerOptions {
  host: string;
  port: number;
}

/** Past this the broker drops the connection with 0x95; between the payload limit and this it answers per message. */
const MAX_PACKET_BYTES = 1024 * 1024;
const OUR_TOPICS = "x0/";

/**
 * The gateway's embedded MQTT 5 broker (aedes) with shared subscriptions, and validation of
 * every payload published under our topics: an invalid one is never forwarded, it is counted
 * and answered (PUBACK reason 0x87 with the reason string, and a message on the node's
 * rejections topic).
 */
export class EmbeddedBroker {
  readonly shared = new SharedSubscriptions();
  readonly rejections: RejectionNotifier;

  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly port: number,
    log: Logger,
  ) {
    this.rejections = new RejectionNotifier((topic, payload) => this.publishAsServer(topic, payload), log);
  }

  static async start(options: BrokerOptions, log: Logger): Promise<EmbeddedBroker> {
    let broker: EmbeddedBroker | undefined;
    const aedes = await Aedes.createBroker({
      maximumPacketSize: MAX_PACKET_BYTES,
      authorizePublish: (client, packet, done) => done(broker?.validate(client, packet) ?? null),
      authorizeForward: (client, packet) => (broker?.shared.allowForward(client, packet) === false ? null : packet),
    });
    const server = createServer((socket) => {
      const client = aedes.handle(socket) as unknown as Client;
      broker?.shared.attach(client);
    });
    aedes.on("clientDisconnect", (client) => broker?.shared.forget(client.id));
    aedes.on("clientError", (client, error) => log.debug("mqtt client error", { clientId: client.id, error: errorText(error) }));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    broker = new EmbeddedBroker(aedes, server, port, log);
    log.info("embedded broker listening", { host: options.host, port });
    return broker;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }

  /** null to accept; an Error (whose message aedes returns as the PUBACK reason string) to refuse. */
  private validate(client: Client | null, packet: PublishPacket): Error | null {
    if (client === null || !packet.topic.startsWith(OUR_TOPICS)) return null;
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
    if (payload.byteLength === 0 && packet.retain) return null; // clearing a retained message
    const result = decodeNodeMessage(packet.topic, payload);
    if (result.ok) return null;
    this.rejections.reject(packet.topic, result.nodeId, result.reason, result.detail);
    return new Error(`${result.reason}: ${result.detail}`.slice(0, 512));
  }

  private publishAsServer(topic: string, payload: string): void {
    const packet = { cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false } as AedesPublishPacket;
    this.aedes.publish(packet, () => undefined);
  }
}
