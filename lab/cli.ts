#!/usr/bin/env node
/**
 * npm run lab -- [--topology ring:5] [--state DIR] [--name NAME]   the mesh lab, until Ctrl-C
 * npm run lab -- down [--name NAME]                                  remove everything a lab made, also after a crash
 * npm run lab -- --kernel uml [--topology line:3] [--name NAME]      batman-adv in User-Mode Linux guests
 * npm run lab -- down --kernel uml [--name NAME]
 * npm run lab -- cut|restore A B --kernel uml [--name NAME]          a link of the running UML lab
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { BROKER_IP, labDown, labNamespaces, linkAddresses, startLab } from "./lab.js";
import { parseTopology } from "./topology.js";
import { UmlLab, signalLink, umlLabDown, umlUnavailable } from "./uml.js";
import { errorText } from "../protocol/index.js";

const USAGE = `Usage: npm run lab -- [--topology ring:N | line:N | grid:RxC | FILE.json] [--state DIR] [--name NAME]
       npm run lab -- down [--name NAME]
       npm run lab -- --kernel uml [--topology …] [--name NAME]   (and: down | cut A B | restore A B --kernel uml)

Builds a mesh of network namespaces joined by veth pairs, with one real agent per namespace
(xdp_guard on its links), a broker in ${labNamespaces().core}, and pings between neighbors. A named
lab's namespaces are x0lab.NAME-*, apart from the default lab's x0lab-*. Needs root.

With --kernel uml: one User-Mode Linux guest per node running the kernel's batman-adv, a
vde_switch per link, and each node's batman-adv routes printed as they settle (no agents in the
guests yet).`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      topology: { type: "string" },
      state: { type: "string" },
      name: { type: "string" },
      kernel: { type: "string" },
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
  if (values.kernel === "uml") return umlMain(positionals, values.topology, values.name ?? "lab", values.state);
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

/** The UML lab: guests with batman-adv until Ctrl-C, or `down` after a crash. */
async function umlMain(positionals: string[], topologyText: string | undefined, name: string, state?: string) {
  const dir = resolve(state ?? join(".x0", `uml-${name}`));
  const [command, a, b] = positionals;
  if ((command === "cut" || command === "restore") && a !== undefined && b !== undefined) {
    await signalLink(dir, a, b, command);
    console.log(`[lab] ${command === "cut" ? "cut" : "restored"} ${a}–${b}`);
    return 0;
  }
  if (command === "down") {
    const removed = await umlLabDown(name, dir);
    console.log(removed.length > 0 ? `[lab] removed ${removed.join(", ")}` : "[lab] nothing to remove");
    return 0;
  }
  if (positionals.length > 0) {
    console.error(`lab: unknown command ${positionals.join(" ")}\n\n${USAGE}`);
    return 2;
  }
  const unavailable = umlUnavailable();
  if (unavailable) {
    console.error(`lab: ${unavailable}`);
    return 2;
  }
  const topology = await parseTopology(topologyText ?? "line:3");
  const lab = await UmlLab.start({ name, topology, dir });
  await lab.ready();
  console.log(`[lab] ${String(topology.nodes.length)} UML guests running batman-adv; Ctrl-C stops them`);
  const names = new Map(topology.nodes.map((id) => [lab.originatorOf(id), id]));
  const timer = setInterval(() => {
    void Promise.all(topology.nodes.map(async (id) => [id, await lab.originators(id).catch(() => [])] as const)).then(
      (tables) => {
        for (const [id, routes] of tables) {
          const best = routes.filter((r) => r.best && names.has(r.originator));
          const text = best.map(
            (r) => `${names.get(r.originator) ?? ""} via ${names.get(r.nextHop) ?? r.nextHop} (TQ ${String(r.tq)})`,
          );
          console.log(`[lab] ${id}: ${text.join(", ") || "no routes yet"}`);
        }
      },
    );
  }, 5000);
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  clearInterval(timer);
  await lab.stop();
  console.log("[lab] stopped, guests and switches removed");
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
