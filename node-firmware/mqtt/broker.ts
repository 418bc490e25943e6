import { createServer, type Server, type Socket } from "node:net";
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket, type Subscription } from "./aedes.js";
import {
  decodeNodeMessage,
  decodeSharedMessage,
  principalOf,
  type NodeMessage,
  type Principal,
} from "../../protocol/index.js";
import { parseSpiffeId } from "../../spiffe/index.js";
import { countOne, type Counts } from "../lib/counts.js";
import type { SvidMaterial } from "../identity/agent.js";
import { createSvidTlsServer, type PeerPolicy, type PeerRefusal, type SvidTlsServer } from "../identity/tls.js";
import { errorText, type Logger } from "../lib/log.js";
import { mayPublish, maySubscribe, requiredClientId, type AclOptions } from "./acl.js";
import { traceparentOfPacket } from "../tracing/propagation.js";
import { RejectionNotifier } from "./rejections.js";
import { SharedSubscriptions } from "./shared-subscriptions.js";

export interface BrokerOptions {
  host: string;
  port: number;
  /** mTLS with SVIDs: every client presents an X.509-SVID and is held to the topic ACL of its identity. */
  tls?: { svid: SvidMaterial; policy: PeerPolicy; trustDomain: string };
  /**
   * Holds every publish until the first tap is in place: a gateway's broker listens before its
   * bridge is ready, and a node message acknowledged with nobody to keep it would be lost.
   */
  holdUntilTapped?: boolean;
  /** The mesh is simulated: its fault-injection topics exist. Off, nobody may use them. */
  simulation?: boolean;
}

/** Past this the broker drops the connection with 0x95; between the payload limit and this it answers per message. */
const MAX_PACKET_BYTES = 1024 * 1024;
const OUR_TOPICS = "x0/";

/**
 * Publishes held back while intake is paused. aedes reads a client's next bytes only once every
 * packet of its last read is through authorization, so one held packet stops its client.
 */
interface Intake {
  held: HeldPublish[] | undefined;
}

interface HeldPublish {
  clientId: string;
  release(): void;
}

/**
 * Receives every node message the broker accepted, already decoded and validated, with the trace
 * it carried. A promise holds the acknowledgement back until it resolves: the gateway's bridge
 * resolves once the message is on disk. If it fails the client is disconnected unacknowledged,
 * so the node keeps the message and sends it again.
 */
export type NodeMessageTap = (message: NodeMessage, traceparent: string | undefined) => Promise<void> | void;

/**
 * Why the broker refused a connection: its TLS peer checks, an SVID that names no principal it
 * knows, or a node arriving before this broker has ever held a deny list.
 */
export type ClientRefusal = PeerRefusal | "unknown_principal" | "no_deny_list";

/** Who a TLS connection is: what the topic ACL and the deny list are applied to. */
interface Session {
  principal: Principal;
  spiffeId: string;
  serial: string;
}

/**
 * The gateway's embedded MQTT 5 broker (aedes) with shared subscriptions, and validation of
 * every payload published under our topics: an invalid one is never forwarded, it is counted
 * and answered (PUBACK reason 0x87 with the reason string, and a message on the node's
 * rejections topic).
 */
export class EmbeddedBroker {
  /** Publishes are held until the first tap (`holdUntilTapped`). */
  private holding = false;

  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    readonly port: number,
    readonly shared: SharedSubscriptions,
    readonly rejections: RejectionNotifier,
    private readonly secure: SvidTlsServer | undefined,
    private readonly taps: Set<NodeMessageTap>,
    private readonly intake: Intake,
    /** Connections refused before MQTT, by reason. */
    readonly refusedClients: Counts<ClientRefusal>,
    /** Sessions closed because the deny list came to name them. */
    readonly revokedSessions: { closed: number },
  ) {}

  /**
   * Holds every client publish at authorization until `resumeIntake`: the client gets no PUBACK
   * and aedes reads no more from it, so TCP pushes back on it. Nothing held is lost or reordered.
   */
  pauseIntake(): void {
    this.intake.held ??= [];
  }

  /**
   * Lets up to `max` held publishes through, oldest first, and returns how many are still held;
   * with none left, intake runs free again. What a released client sends next queues behind the
   * rest. Metered, because aedes authorizes a whole read at once: after a long pause each client
   * has dozens of publishes held, and letting them all go floods what the pause protected.
   */
  resumeIntake(max = Infinity): number {
    const held = this.intake.held ?? [];
    const released = held.splice(0, max);
    if (held.length === 0) this.intake.held = undefined;
    for (const publish of released) publish.release();
    return this.intake.held?.length ?? 0;
  }

  /** The clients with a publish held now, each once, in the order their first was held. */
  heldClients(): string[] {
    return [...new Set(this.intake.held?.map((publish) => publish.clientId))];
  }

  /**
   * Hands every accepted node message to `tap` in the order the broker accepted them (wills
   * included), with no second decode and no MQTT hop: the gateway's bridge uses it when the
   * broker is its own. Returns the function that removes the tap.
   */
  tap(tap: NodeMessageTap): () => void {
    this.taps.add(tap);
    if (this.taps.size === 1 && this.holding) {
      this.holding = false;
      this.resumeIntake();
    }
    return () => this.taps.delete(tap);
  }

  static async start(options: BrokerOptions, log: Logger): Promise<EmbeddedBroker> {
    const shared = new SharedSubscriptions();
    const sessions = new Map<Client, Session>();
    const principals = { get: (client: Client) => sessions.get(client)?.principal };
    let answer = (_topic: string, _payload: string): void => undefined; // bound once aedes exists
    const rejections = new RejectionNotifier((topic, payload) => {
      answer(topic, payload);
    }, log);
    const taps = new Set<NodeMessageTap>();
    const intake: Intake = { held: options.holdUntilTapped ? [] : undefined };
    const acl: AclOptions = { simulation: options.simulation === true };
    const aedes = await Aedes.createBroker({
      maximumPacketSize: MAX_PACKET_BYTES,
      authenticate: (client, _user, _password, done) => {
        done(clientIdRefusal(client, principals.get(client)), true);
      },
      authorizePublish: (client, packet, done) => {
        const decide = () => {
          const refused = aclRefusal(client ? principals.get(client) : undefined, packet.topic, acl);
          const checked = refused ? { refused } : validated(client, packet, rejections);
          if ("refused" in checked) done(checked.refused);
          else if (checked.message && client)
            tapped(client, checked.message, traceparentOfPacket(packet), taps, done, log);
          else done(null);
        };
        if (client && intake.held) intake.held.push({ clientId: client.id, release: decide });
        else decide();
      },
      authorizeSubscribe: (client, sub, done) => {
        done(null, subscriptionAllowed(principals.get(client), sub, acl));
      },
      authorizeForward: (client, packet) => (shared.allowForward(client, packet) ? packet : null),
    });
    answer = (topic, payload) => {
      publishAsServer(aedes, topic, payload);
    };
    const accept = (socket: Socket, session?: Session) => {
      // Small packets, latency-bound loop: Nagle's algorithm would hold them up to an ACK delay.
      socket.setNoDelay(true);
      const client = aedes.handle(socket);
      if (session) {
        sessions.set(client, session);
        socket.once("close", () => sessions.delete(client));
      }
      shared.attach(client);
    };
    const refusedClients: Counts<ClientRefusal> = {};
    const refuse = (refusal: ClientRefusal, reason: string, remote: string | undefined) => {
      countOne(refusedClients, refusal);
      log.warn("mqtt client refused", { refusal, reason, remote });
    };
    const secure = options.tls ? tlsServer(options.tls, accept, refuse) : undefined;
    const server =
      secure?.server ??
      createServer((socket) => {
        accept(socket);
      });
    aedes.on("clientDisconnect", (client) => {
      shared.forget(client.id);
    });
    const revokedSessions = { closed: 0 };
    if (options.tls) {
      const deny = options.tls.policy.deny;
      // Within one deny-list update every session it now names is closed, whatever it was doing.
      deny.onChange(() => {
        for (const [client, session] of sessions) {
          if (!deny.denies(session.spiffeId, session.serial)) continue;
          sessions.delete(client);
          revokedSessions.closed++;
          log.warn("mqtt session of a revoked identity closed", { spiffeId: session.spiffeId, serial: session.serial });
          client.close();
        }
      });
    }
    aedes.on("clientError", (client, error) => {
      log.debug("mqtt client error", { clientId: client.id, error: errorText(error) });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : options.port;
    log.info("embedded broker listening", { host: options.host, port });
    const broker = new EmbeddedBroker(
      aedes,
      server,
      port,
      shared,
      rejections,
      secure,
      taps,
      intake,
      refusedClients,
      revokedSessions,
    );
    broker.holding = options.holdUntilTapped === true;
    return broker;
  }

  /** MQTT clients connected now. */
  get clients(): number {
    return this.aedes.connectedClients;
  }

  /** A rotated SVID: new handshakes present it; established connections keep theirs. */
  updateSvid(svid: SvidMaterial): void {
    this.secure?.updateSvid(svid);
  }

  /** Stops listening, disconnects every client, and resolves once all their sockets are gone. */
  async close(): Promise<void> {
    const serverClosed = new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
    await new Promise<void>((resolve) => {
      this.aedes.close(() => {
        resolve();
      });
    });
    await serverClosed;
  }
}

type Refuse = (refusal: ClientRefusal, reason: string, remote: string | undefined) => void;

/** Nodes wait for a deny list: until this broker has held one, it cannot tell a revoked node from the others. */
const needsDenyList = (principal: Principal) => principal.kind === "node" || principal.kind === "service";

function tlsServer(
  tls: NonNullable<BrokerOptions["tls"]>,
  accept: (socket: Socket, session: Session) => void,
  refuse: Refuse,
): SvidTlsServer {
  return createSvidTlsServer(
    tls.svid,
    tls.policy,
    (socket, { spiffeId, serial }) => {
      const parsed = parseSpiffeId(spiffeId);
      const principal = parsed.ok ? principalOf(parsed.id, tls.trustDomain) : null;
      if (!principal) {
        refuse("unknown_principal", `${spiffeId} names no principal of ${tls.trustDomain}`, socket.remoteAddress);
        socket.destroy();
      } else if (needsDenyList(principal) && !tls.policy.deny.known) {
        refuse(
          "no_deny_list",
          `${spiffeId} refused: this gateway has not fetched a deny list yet`,
          socket.remoteAddress,
        );
        socket.destroy();
      } else accept(socket, { principal, spiffeId, serial });
    },
    refuse,
  );
}

function clientIdRefusal(client: Client, principal: Principal | undefined) {
  const required = principal ? requiredClientId(principal) : null;
  if (required === null || client.id === required) return null;
  return Object.assign(new Error(`client id must be "${required}"`), { returnCode: 2 as const });
}

function aclRefusal(principal: Principal | undefined, topic: string, acl: AclOptions): Error | null {
  if (!principal || mayPublish(principal, topic, acl)) return null;
  return new Error(`not allowed to publish to ${topic}`);
}

function subscriptionAllowed(
  principal: Principal | undefined,
  sub: Subscription,
  acl: AclOptions,
): Subscription | null {
  return !principal || maySubscribe(principal, sub.topic, acl) ? sub : null;
}

/**
 * A publish under our topics, validated: refused with an Error (whose message aedes returns as the
 * PUBACK reason string), or accepted with the node message it carries (none for shared topics).
 */
function validated(
  client: Client | null,
  packet: PublishPacket,
  rejections: RejectionNotifier,
): { refused: Error } | { message?: NodeMessage } {
  if (client === null || !packet.topic.startsWith(OUR_TOPICS)) return {};
  const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload) : packet.payload;
  if (payload.byteLength === 0 && packet.retain) return {}; // clearing a retained message
  const shared = decodeSharedMessage(packet.topic, payload);
  const result = shared ?? decodeNodeMessage(packet.topic, payload);
  if (result.ok) return shared ? {} : { message: result.message };
  rejections.reject(packet.topic, result.nodeId, result.reason, result.detail);
  return { refused: new Error(`${result.reason}: ${result.detail}`.slice(0, 512)) };
}

/**
 * Accepts a node message once every tap has it: aedes acknowledges it only when they are done.
 * A tap that fails disconnects the client instead, unacknowledged.
 */
function tapped(
  client: Client,
  message: NodeMessage,
  traceparent: string | undefined,
  taps: ReadonlySet<NodeMessageTap>,
  done: (error: Error | null) => void,
  log: Logger,
): void {
  const pending = [...taps].map((tap) => tap(message, traceparent)).filter((p) => p !== undefined);
  if (pending.length === 0) {
    done(null);
    return;
  }
  Promise.all(pending).then(
    () => {
      done(null);
    },
    (error: unknown) => {
      log.error("a node message could not be kept; disconnecting its client unacknowledged", {
        clientId: client.id,
        error: errorText(error),
      });
      client.close();
    },
  );
}

function publishAsServer(aedes: Aedes, topic: string, payload: string): void {
  const packet = {
    cmd: "publish",
    topic,
    payload: Buffer.from(payload),
    qos: 0,
    retain: false,
    dup: false,
  } as AedesPublishPacket;
  aedes.publish(packet, () => undefined);
}
