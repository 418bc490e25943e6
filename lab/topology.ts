import { readFile } from "node:fs/promises";
import { z } from "zod";
import { prng } from "../node-firmware/mesh/index.js";
import { NodeId } from "../protocol/index.js";

/** The lab's mesh: nodes, and the links between them (each one a veth pair). */
export interface LabTopology {
  nodes: string[];
  links: [string, string][];
}

export const MAX_NODES = 64;

const TopologyFile = z.strictObject({
  nodes: z
    .array(NodeId.max(10, "must be at most 10 characters (interface names are built from it)"))
    .min(2)
    .max(MAX_NODES),
  links: z.array(z.tuple([NodeId, NodeId])).min(1),
});

const names = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i + 1)}`);

function line(n: number): LabTopology {
  const nodes = names(n);
  return { nodes, links: nodes.slice(1).map((id, i): [string, string] => [nodes[i] as string, id]) };
}

function grid(rows: number, columns: number): LabTopology {
  const nodes = names(rows * columns);
  const at = (r: number, c: number) => nodes[r * columns + c] as string;
  const links: [string, string][] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      if (c + 1 < columns) links.push([at(r, c), at(r, c + 1)]);
      if (r + 1 < rows) links.push([at(r, c), at(r + 1, c)]);
    }
  }
  return { nodes, links };
}

/**
 * A connected random mesh: a random spanning tree (each node joins one before it), then about
 * N/2 more links between random pairs: an average degree near 3, as a community mesh has.
 */
function random(n: number, seed: number): LabTopology {
  const nodes = names(n);
  const next = prng(seed);
  const pick = (below: number) => Math.floor(next() * below);
  const links: [string, string][] = nodes.slice(1).map((id, i) => [nodes[pick(i + 1)] as string, id]);
  const key = (a: string, b: string) => [a, b].sort().join(" ");
  const known = new Set(links.map(([a, b]) => key(a, b)));
  for (let tries = 0; tries < 4 * n && links.length < n - 1 + Math.floor(n / 2); tries++) {
    const [a, b] = [nodes[pick(n)] as string, nodes[pick(n)] as string];
    if (a === b || known.has(key(a, b))) continue;
    known.add(key(a, b));
    links.push([a, b]);
  }
  return { nodes, links };
}

function checked(topology: LabTopology): LabTopology {
  const known = new Set(topology.nodes);
  if (known.size !== topology.nodes.length) throw new Error("topology: node names repeat");
  for (const [a, b] of topology.links) {
    if (!known.has(a) || !known.has(b)) throw new Error(`topology: link ${a}-${b} names a node that is not listed`);
    if (a === b) throw new Error(`topology: link ${a}-${b} joins a node to itself`);
  }
  if (topology.nodes.length > MAX_NODES) throw new Error(`topology: at most ${String(MAX_NODES)} nodes`);
  return topology;
}

/**
 * `ring:N`, `line:N`, `grid:RxC`, `random:N[:SEED]`, or the path of a JSON file
 * `{ "nodes": [...], "links": [["a","b"], ...] }`.
 */
export async function parseTopology(spec: string): Promise<LabTopology> {
  const shape = /^(ring|line):(\d+)$/.exec(spec);
  if (shape) {
    const n = Number(shape[2]);
    if (n < 2 || n > MAX_NODES) throw new Error(`topology: ${spec}: 2..${String(MAX_NODES)} nodes`);
    const topology = line(n);
    if (shape[1] === "ring" && n > 2)
      topology.links.push([topology.nodes[n - 1] as string, topology.nodes[0] as string]);
    return topology;
  }
  const rect = /^grid:(\d+)x(\d+)$/.exec(spec);
  if (rect) return checked(grid(Number(rect[1]), Number(rect[2])));
  const mesh = /^random:(\d+)$/.exec(spec) ?? /^random:(\d+):(\d+)$/.exec(spec);
  if (mesh) {
    const n = Number(mesh[1]);
    if (n < 2 || n > MAX_NODES) throw new Error(`topology: ${spec}: 2..${String(MAX_NODES)} nodes`);
    return checked(random(n, Number(mesh[2] ?? 1)));
  }
  let text: string;
  try {
    text = await readFile(spec, "utf8");
  } catch {
    throw new Error(`topology: "${spec}" is not ring:N, line:N, grid:RxC, random:N[:SEED] or a readable JSON file`);
  }
  const parsed = TopologyFile.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new Error(
      `topology: ${spec}: ${parsed.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
    );
  return checked(parsed.data);
}
