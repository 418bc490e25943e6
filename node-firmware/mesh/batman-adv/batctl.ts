import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { z } from "zod";
import { MacAddress, type BatmanGateway, type BatmanNeighbor, type Route } from "../../../protocol/index.js";

const run = promisify(execFile);

/**
 * batctl's JSON, field names as batctl prints them (its genl_json table). Loose objects: newer
 * batctl versions add fields, and B.A.T.M.A.N. V prints `throughput` where IV prints `tq`.
 */
const Originator = z.looseObject({
  orig_address: MacAddress,
  neigh_address: MacAddress,
  hard_ifname: z.string(),
  last_seen_msecs: z.number().int(),
  tq: z.number().int().optional(),
  best: z.boolean().optional(),
});
const Neighbor = z.looseObject({
  neigh_address: MacAddress,
  hard_ifname: z.string(),
  last_seen_msecs: z.number().int(),
});
const Gateway = z.looseObject({
  orig_address: MacAddress,
  router: MacAddress,
  hard_ifname: z.string(),
  tq: z.number().int().optional(),
  best: z.boolean().optional(),
  bandwidth_down: z.number().optional(),
  bandwidth_up: z.number().optional(),
});
const MeshSettings = z.looseObject({
  mesh_ifname: z.string(),
  algo_name: z.string().optional(),
  hop_penalty: z.number().int().optional(),
  orig_interval: z.number().int().optional(),
  /** The primary hard interface, whose MAC is the node's originator address. */
  hard_ifname: z.string().optional(),
});

export class BatctlError extends Error {}

const routeOf = (o: z.infer<typeof Originator>): Route => ({
  originator: o.orig_address,
  nextHop: o.neigh_address,
  interface: o.hard_ifname,
  tq: o.tq ?? 0,
  lastSeenMs: o.last_seen_msecs,
  best: o.best === true,
});

/** `batctl originators_json` as text (read where batctl ran, such as a lab guest), parsed into routes. */
export function parseOriginators(json: string): Route[] {
  return z.array(Originator).parse(JSON.parse(json)).map(routeOf);
}

export type GatewayMode = "off" | "client" | "server";

/** batman-adv through `batctl meshif <bat0> …`: its tables parsed into protocol types, and its settings. */
export class Batctl {
  constructor(
    readonly meshInterface = "bat0",
    private readonly command = "batctl",
  ) {}

  async originators(): Promise<Route[]> {
    return (await this.json("originators_json", Originator)).map(routeOf);
  }

  async neighbors(): Promise<BatmanNeighbor[]> {
    return (await this.json("neighbors_json", Neighbor)).map((n) => ({
      address: n.neigh_address,
      interface: n.hard_ifname,
      lastSeenMs: n.last_seen_msecs,
    }));
  }

  async gateways(): Promise<BatmanGateway[]> {
    return (await this.json("gateways_json", Gateway)).map((g) => ({
      originator: g.orig_address,
      nextHop: g.router,
      interface: g.hard_ifname,
      best: g.best === true,
      ...(g.tq === undefined ? {} : { tq: g.tq }),
      ...(g.bandwidth_down === undefined ? {} : { bandwidthDownKbit: g.bandwidth_down }),
      ...(g.bandwidth_up === undefined ? {} : { bandwidthUpKbit: g.bandwidth_up }),
    }));
  }

  /**
   * One batman-adv echo (layer 2, `batctl ping`) to `mac`: the round trip in ms, or undefined when
   * no reply came within `timeoutS`.
   */
  async ping(mac: string, timeoutS = 1): Promise<number | undefined> {
    const output = await this.exec([...this.mesh(), "ping", "-c", "1", "-t", String(timeoutS), mac]).catch(
      (error: unknown) => {
        if (error instanceof BatctlError && error.message.includes("not found on PATH")) throw error;
        return ""; // batctl exits non-zero when the echo times out
      },
    );
    const time = /time=([0-9.]+) ms/.exec(output)?.[1];
    return time === undefined ? undefined : Number(time);
  }

  /** The mesh interface's hard interfaces (batctl lists them by name; `settings().hard_ifname` is the primary). */
  async interfaces(): Promise<string[]> {
    const output = await this.exec([...this.mesh(), "interface"]);
    return output
      .split("\n")
      .map((line) => /^([^:\s]+):/.exec(line.trim())?.[1])
      .filter((name): name is string => name !== undefined);
  }

  async settings(): Promise<z.infer<typeof MeshSettings>> {
    const [settings] = await this.json("mesh_json", MeshSettings, false);
    if (!settings) throw new BatctlError(`batctl mesh_json printed nothing for ${this.meshInterface}`);
    return settings;
  }

  /**
   * The mesh-wide hop penalty, or one hard interface's (batman-adv ≥ 2020.1): how a route around a
   * link is made costlier.
   */
  async setHopPenalty(penalty: number, hardInterface?: string): Promise<void> {
    if (!Number.isInteger(penalty) || penalty < 0 || penalty > 255)
      throw new BatctlError(`hop penalty must be 0..255, got ${String(penalty)}`);
    await this.exec(
      hardInterface
        ? ["hardif", hardInterface, "hop_penalty", String(penalty)]
        : [...this.mesh(), "hop_penalty", String(penalty)],
    );
  }

  /** One hard interface's hop penalty (batman-adv ≥ 2020.1). */
  async hopPenalty(hardInterface: string): Promise<number> {
    const said = (await this.exec(["hardif", hardInterface, "hop_penalty"])).trim();
    const penalty = Number(said);
    if (!Number.isInteger(penalty)) throw new BatctlError(`batctl hardif ${hardInterface} hop_penalty printed ${said}`);
    return penalty;
  }

  async setOrigInterval(ms: number): Promise<void> {
    await this.exec([...this.mesh(), "orig_interval", String(ms)]);
  }

  async setGatewayMode(mode: GatewayMode): Promise<void> {
    await this.exec([...this.mesh(), "gw_mode", mode]);
  }

  async addInterface(hardInterface: string): Promise<void> {
    await this.exec([...this.mesh(), "interface", "add", hardInterface]);
  }

  async removeInterface(hardInterface: string): Promise<void> {
    await this.exec([...this.mesh(), "interface", "del", hardInterface]);
  }

  private mesh(): string[] {
    return ["meshif", this.meshInterface];
  }

  private async json<T>(table: string, schema: z.ZodType<T>, isArray = true): Promise<T[]> {
    const stdout = await this.exec([...this.mesh(), table]);
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw new BatctlError(`batctl ${table} printed no JSON: ${stdout.slice(0, 200)}`);
    }
    const result = (isArray ? z.array(schema) : schema.transform((one) => [one])).safeParse(parsed);
    if (!result.success)
      throw new BatctlError(
        `batctl ${table}: unexpected output: ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
      );
    return result.data;
  }

  private async exec(args: string[]): Promise<string> {
    try {
      return (await run(this.command, args, { timeout: 5000 })).stdout;
    } catch (error) {
      const { stderr = "", stdout = "", code } = error as { stderr?: string; stdout?: string; code?: string | number };
      if (code === "ENOENT") throw new BatctlError(`${this.command} not found on PATH (Debian package batctl)`);
      const said = `${stderr}${stdout}`.trim().split("\n")[0] ?? "";
      throw new BatctlError(`batctl ${args.join(" ")} failed: ${said || String(code)}`);
    }
  }
}

/**
 * Counts path switches, batman-adv's "path switch frequency": a change of an originator's best
 * next hop between two readings. An originator seen for the first time is no switch.
 */
export class PathSwitches {
  private best = new Map<string, string>();
  total = 0;

  observe(routes: readonly Route[]): number {
    const next = new Map(routes.filter((r) => r.best).map((r) => [r.originator, r.nextHop]));
    let switched = 0;
    for (const [originator, hop] of next) {
      const before = this.best.get(originator);
      if (before !== undefined && before !== hop) switched++;
    }
    this.best = next;
    this.total += switched;
    return switched;
  }
}
