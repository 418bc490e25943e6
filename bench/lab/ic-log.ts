/**
 * What a V8 inline-cache log (`node --log-ic`) says about each property access site: the states
 * its cache went through and how many hidden classes (maps) it saw. A site that sees more than one
 * map is polymorphic, past four megamorphic, and runs slower than a monomorphic one; a rare message
 * of another shape can do that to code every message runs, which no CPU profile shows as a place.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

/** One access site: a position in a script, the kind of access and the property it names. */
export interface IcSite {
  /** Script and position, `path:line:column` (line 1-based, as V8 logs it for ICs). */
  where: string;
  /** LoadIC, StoreIC, KeyedLoadIC, KeyedStoreIC, … */
  type: string;
  /** The property named; for a keyed access (`o[k]`), the first key it was logged with. */
  key: string;
  /** The function whose code holds the site (in optimised code, what inlined it). */
  inFunction: string;
  /** The states the cache went to, in order of first arrival (V8's: 1 monomorphic, P polymorphic, N megamorphic, …). */
  states: string;
  maps: number;
  /** How far the site got: 0 uninitialised or no feedback, 1 monomorphic, 2 polymorphic, 3 megamorphic or generic. */
  degree: number;
}

const DEGREE: Record<string, number> = { "1": 1, "^": 1, P: 2, N: 3, G: 3 };
/** Global loads and stores name no receiver's shape. */
const SHAPE_ICS = new Set([
  "LoadIC",
  "StoreIC",
  "KeyedLoadIC",
  "KeyedStoreIC",
  "KeyedHasIC",
  "StoreInArrayLiteralIC",
  "DefineKeyedOwnIC",
  "DefineNamedOwnIC",
]);

interface Code {
  start: bigint;
  end: bigint;
  name: string;
}

/** Code objects by address, as the log creates and moves them. */
class CodeMap {
  private readonly byStart = new Map<bigint, Code>();
  private sorted: Code[] | undefined;

  add(start: bigint, size: bigint, name: string): void {
    this.byStart.set(start, { start, end: start + size, name });
    this.sorted = undefined;
  }

  move(from: bigint, to: bigint): void {
    const code = this.byStart.get(from);
    if (!code) return;
    this.byStart.delete(from);
    this.add(to, code.end - code.start, code.name);
  }

  find(pc: bigint): Code | undefined {
    this.sorted ??= [...this.byStart.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    let [low, high, found] = [0, this.sorted.length - 1, undefined as Code | undefined];
    while (low <= high) {
      const middle = (low + high) >> 1;
      const code = this.sorted[middle] as Code;
      if (code.start <= pc) [found, low] = [code, middle + 1];
      else high = middle - 1;
    }
    return found && pc < found.end ? found : undefined;
  }
}

/** `name path:line:col` (V8's name of JavaScript code) as its script, relative to `root`, and function. */
function scriptOf(codeName: string | undefined, root: string): { script: string; inFunction: string } {
  const match = /^(.*?)\s*(\S+):\d+:\d+$/.exec(codeName ?? "");
  if (!match) return { script: "?", inFunction: codeName ?? "?" };
  const script = (match[2] ?? "").replace(/^file:\/\//, "").replace(root, "");
  return { script, inFunction: match[1] || "(top level)" };
}

type SiteSeen = Omit<IcSite, "maps" | "degree"> & { maps: Set<string> };

const degreeOf = (states: string): number => Math.max(0, ...Array.from(states, (state) => DEGREE[state] ?? 0));

/** Reads every shape-bearing IC site of a `--log-ic` log; paths under `root` are shown relative to it. */
export async function readIcSites(file: string, root = ""): Promise<Map<string, IcSite>> {
  const code = new CodeMap();
  const sites = new Map<string, SiteSeen>();
  for await (const line of createInterface({ input: createReadStream(file) })) {
    const fields = line.split(",");
    const [event = ""] = fields;
    if (event === "code-creation") code.add(BigInt(fields[4] ?? 0), BigInt(fields[5] ?? 0), fields[6] ?? "");
    else if (event === "code-move") code.move(BigInt(fields[1] ?? 0), BigInt(fields[2] ?? 0));
    else if (SHAPE_ICS.has(event)) {
      const [, pc = "0", , lineNo, column, , state = "", map = "", key = ""] = fields;
      const { script, inFunction } = scriptOf(code.find(BigInt(pc))?.name, root);
      const where = `${script}:${lineNo ?? "?"}:${column ?? "?"}`;
      // A keyed access is one site whatever key it reads.
      const id = event.startsWith("Keyed") ? `${where} ${event}` : `${where} ${event} ${key}`;
      const site = sites.get(id) ?? { where, type: event, key, inFunction, states: "", maps: new Set<string>() };
      if (!site.states.includes(state)) site.states += state;
      site.maps.add(map);
      sites.set(id, site);
    }
  }
  return new Map(
    [...sites].map(([id, site]) => [id, { ...site, maps: site.maps.size, degree: degreeOf(site.states) }]),
  );
}

/** Sites `after` took past monomorphic that stayed below that degree (or never ran) in `before`, by where they are. */
export function newlyPolymorphic(
  before: Map<string, IcSite>,
  after: Map<string, IcSite>,
): { site: IcSite; was: IcSite | undefined }[] {
  const found: { site: IcSite; was: IcSite | undefined }[] = [];
  for (const [id, site] of after) {
    const was = before.get(id);
    if (site.degree >= 2 && site.degree > (was?.degree ?? 0)) found.push({ site, was });
  }
  return found.sort((a, b) => a.site.where.localeCompare(b.site.where, "en", { numeric: true }));
}
