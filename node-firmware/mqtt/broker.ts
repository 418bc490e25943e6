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
  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly port: number,
    readonly shared: SharedSubscriptions,
    readonly rejections: RejectionNotifier,
  ) {}

  static async start(options: BrokerOptions, log: Logger): Promise<EmbeddedBroker> {
    const shared = new SharedSubscriptions();
    let answer = (_topic: string, _payload: string): void => undefined; // bound once aedes exists
    const rejections = new RejectionNotifier((topic, payload) => { answer(topic, payload); }, log);
    const aedes = await Aedes.createBroker({
      maximumPacketSize: MAX_PACKET_BYTES,
      authorizePublish: (client, packet, done) => { done(refusal(client, packet, rejections)); },
      authorizeForward: (client, packet) => (shared.allowForward(client, packet) ? packet : null),
    });
    answer = (topic, payload) => { publishAsServer(aedes, topic, payload); };
    const server = createServer((socket) => { shared.attach(aedes.handle(socket)); });
    aedes.on("clientDisconnect", (client) => { shared.forget(client.id); });
    aedes.on("clientError", (client, error) => { log.debug("mqtt client error", { clientId: client.id, error: errorText(error) }); });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => { resolve(); });
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    log.info("embedded broker listening", { host: options.host, port });
    return new EmbeddedBroker(aedes, server, port, shared, rejections);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
    await new Promise<void>((resolve) => { this.aedes.close(() => { resolve(); }); });
  }
}

/** null to accept; an Error (whose message aedes returns as the PUBACK reason string) to refuse. */
function refusal(client: Client | null, packet: PublishPacket, rejections: RejectionNotifier): Error | null {
  if (client === null || !packet.topic.startsWith(OUR_TOPICS)) return null;
  const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
  if (payload.byteLength === 0 && packet.retain) return null; // clearing a retained message
  const result = decodeNodeMessage(packet.topic, payload);
  if (result.ok) return null;
  rejections.reject(packet.topic, result.nodeId, result.reason, result.detail);
  return new Error(`${result.reason}: ${result.detail}`.slice(0, 512));
}

function publishAsServer(aedes: Aedes, topic: string, payload: string): void {
  const packet = { cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false } as AedesPublishPacket;
  aedes.publish(packet, () => undefined);
}
