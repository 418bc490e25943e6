#!/usr/bin/env node
/**
 * npm run lab -- [--topology ring:5] [--state DIR] [--name NAME]   the mesh lab, until Ctrl-C
 * npm run lab -- down [--name NAME]                                  remove everything a lab made, also after a crash
 * npm run lab -- --kernel uml [--topology line:3] [--name NAME] [--bare]   batman-adv in User-Mode Linux guests
 * npm run lab -- down --kernel uml [--name NAME]
 * npm run lab -- cut|restore A B --kernel uml [--name NAME]          a link of the running UML lab
 * npm run lab -- degrade A B --loss 20 --delay 50 --kernel uml       loss (%) and delay (ms) on it
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BROKER_IP, labDown, labNamespaces, linkAddresses, startLab } from "./lab.js";
import { parseTopology } from "./topology.js";
import { UmlLab, changeLink, umlLabDown, umlUnavailable } from "./uml.js";
import { startUmlMesh } from "./uml-mesh.js";
import { errorText } from "../protocol/index.js";

const USAGE = `Usage: npm run lab -- [--topology ring:N | line:N | grid:RxC | random:N[:SEED] | FILE.json] [--state DIR] [--name NAME]
       npm run lab -- down [--name NAME]
       npm run lab -- --kernel uml [--topology …] [--name NAME] [--bare]
       npm run lab -- down | cut A B | restore A B | degrade A B --loss % --delay ms  --kernel uml [--name NAME]

Builds a mesh of network namespaces joined by veth pairs, with one real agent per namespace
(xdp_guard on its links), a broker in ${labNamespaces().core}, and pings between neighbors. A named
lab's namespaces are x0lab.NAME-*, apart from the default lab's x0lab-*. Needs root.

With --kernel uml: one User-Mode Linux guest per node running the kernel's batman-adv, a
vde_switch per link, the edge in workerd on this host, and the firmware bundle's agent in every
guest (the first node is the gateway, with the broker, reaching the edge over a tap). --bare: the
guests and their batman-adv only.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      topology: { type: "string" },
      state: { type: "string" },
      name: { type: "string" },
      kernel: { type: "string" },
      bare: { type: "boolean" },
      loss: { type: "string" },
      delay: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error("lab: needs root (network namespaces, XDP)");
    return 2;
  }
  if (values.kernel !== undefined && values.kernel !== "uml" && values.kernel !== "host") {
    console.error(`lab: --kernel takes uml or host, not ${values.kernel}`);
    return 2;
  }
  if (values.kernel === "uml")
    return umlMain({
      positionals,
      topology: values.topology,
      name: values.name ?? "lab",
      state: values.state,
      bare: values.bare === true,
      loss: values.loss,
      delay: values.delay,
    });
  if (positionals[0] === "down") {
    const removed = await labDown(values.name);
    console.log(removed.length > 0 ? `[lab] removed ${removed.join(", ")}` : "[lab] nothing to remove");
    return 0;
  }
  if (positionals.length > 0) {
    console.error(`lab: unknown command ${positionals.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  const topology = await parseTopology(values.topology ?? "ring:5");
  const lab = await startLab({
    topology,
    ...(values.name === undefined ? {} : { name: values.name }),
    stateDir: resolve(values.state ?? ".x0/lab"),
    print: (line) => {
      console.log(line);
    },
  });
  const { core, node: nodeNamespace } = lab.namespaces;
  const [first, second] = topology.links[0] ?? [];
  const [, target] = linkAddresses(0);
  console.log(
    [
      "",
      `x0tta6bl4 lab: ${String(topology.nodes.length)} namespaces (${topology.nodes.map(nodeNamespace).join(", ")}), ${String(topology.links.length)} links`,
      `  telemetry  ip netns exec ${core} mosquitto_sub -h ${BROKER_IP} -t 'x0/v1/nodes/+/telemetry'`,
      `  a flood    ip netns exec ${nodeNamespace(first ?? "")} ping -f ${target}   (${first ?? ""} → ${second ?? ""}; its XDP isolates it)`,
      `  Ctrl-C stops the agents and removes the namespaces; npm run lab -- down${values.name === undefined ? "" : ` --name ${values.name}`} cleans up after a crash.`,
      "",
    ].join("\n"),
  );
  await new Promise<void>((done) => {
    process.once("SIGINT", () => {
      done();
    });
    process.once("SIGTERM", () => {
      done();
    });
  });
  await lab.stop();
  console.log("[lab] stopped, namespaces removed");
  return 0;
}

interface UmlArgs {
  positionals: string[];
  topology: string | undefined;
  name: string;
  state: string | undefined;
  bare: boolean;
  loss: string | undefined;
  delay: string | undefined;
}

/** `cut`, `restore` or `degrade` A B on the UML lab running in `dir`, from this other process. */
async function umlLinkCommand(dir: string, [command, a, b]: string[], args: UmlArgs): Promise<number> {
  if (a === undefined || b === undefined) {
    console.error(`lab: ${command ?? ""} takes two nodes: ${command ?? ""} A B --kernel uml`);
    return 2;
  }
  if (command === "degrade") {
    const quality = { lossPercent: Number(args.loss ?? 0), delayMs: Number(args.delay ?? 0) };
    await changeLink(dir, a, b, { degrade: quality });
    console.log(`[lab] degraded ${a}–${b}: ${String(quality.lossPercent)} % loss, ${String(quality.delayMs)} ms delay`);
    return 0;
  }
  await changeLink(dir, a, b, command === "cut" ? { cut: true } : { restore: true });
  console.log(`[lab] ${command === "cut" ? "cut" : "restored"} ${a}–${b}`);
  return 0;
}

/** Each node's best batman-adv routes, by node names, as the guests' tables say now. */
async function printRoutes(lab: UmlLab): Promise<void> {
  const originators = new Map(lab.nodes.map((id) => [lab.originatorOf(id), id]));
  const hops = new Map(lab.nodes.flatMap((id) => lab.linkAddressesOf(id).map((mac) => [mac, id] as const)));
  for (const id of lab.nodes) {
    const routes = (await lab.originators(id).catch(() => [])).filter((r) => r.best && originators.has(r.originator));
    const text = routes.map(
      (r) => `${originators.get(r.originator) ?? ""} via ${hops.get(r.nextHop) ?? r.nextHop} (TQ ${String(r.tq)})`,
    );
    console.log(`[lab] ${id}: ${text.join(", ") || "no routes yet"}`);
  }
}

/** The UML lab: guests with batman-adv (and, unless --bare, the edge and an agent per guest) until Ctrl-C. */
async function umlMain(args: UmlArgs): Promise<number> {
  const dir = resolve(args.state ?? join(".x0", `uml-${args.name}`));
  const [command] = args.positionals;
  if (command === "cut" || command === "restore" || command === "degrade")
    return umlLinkCommand(dir, args.positionals, args);
  if (command === "down") {
    const removed = await umlLabDown(args.name, dir);
    console.log(removed.length > 0 ? `[lab] removed ${removed.join(", ")}` : "[lab] nothing to remove");
    return 0;
  }
  if (args.positionals.length > 0) {
    console.error(`lab: unknown command ${args.positionals.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  const unavailable = umlUnavailable();
  if (unavailable) {
    console.error(`lab: ${unavailable}`);
    return 2;
  }
  const topology = await parseTopology(args.topology ?? "line:3");
  const print = (line: string) => {
    console.log(line);
  };
  const mesh = args.bare ? undefined : await startUmlMesh({ name: args.name, topology, dir, print });
  const lab = mesh?.lab ?? (await UmlLab.start({ name: args.name, topology, dir }));
  await lab.ready();
  console.log(`[lab] ${String(topology.nodes.length)} UML guests running batman-adv; Ctrl-C stops them`);
  if (mesh) {
    console.log(
      [
        `  edge       ${mesh.apiUrl} (the gateway ${mesh.gateway} reaches it over its uplink)`,
        `  nodes      npx x0ctl --credential ${mesh.credentialFile} nodes`,
        `  topology   npx x0ctl --credential ${mesh.credentialFile} topology`,
        `  agent logs ${join(dir, "nodes", "<node>", "agent.log")}`,
        `  a link     npm run lab -- cut|restore|degrade A B --kernel uml${args.name === "lab" ? "" : ` --name ${args.name}`}`,
      ].join("\n"),
    );
  }
  const timer = setInterval(() => void printRoutes(lab), 5000);
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  clearInterval(timer);
  await (mesh ?? lab).stop();
  console.log("[lab] stopped: guests, switches and uplink removed");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`[lab] ${errorText(error)}`);
    process.exitCode = 1;
  },
);
