#!/usr/bin/env node
/**
 * npm run lab -- [--topology ring:5] [--state DIR] [--name NAME]   the mesh lab, until Ctrl-C
 * npm run lab -- down [--name NAME]                                  remove everything a lab made, also after a crash
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { BROKER_IP, labDown, labNamespaces, linkAddresses, startLab } from "./lab.js";
import { parseTopology } from "./topology.js";
import { errorText } from "../protocol/index.js";

const USAGE = `Usage: npm run lab -- [--topology ring:N | line:N | grid:RxC | FILE.json] [--state DIR] [--name NAME]
       npm run lab -- down [--name NAME]

Builds a mesh of network namespaces joined by veth pairs, with one real agent per namespace
(xdp_guard on its links), a broker in ${labNamespaces().core}, and pings between neighbors. A named
lab's namespaces are x0lab.NAME-*, apart from the default lab's x0lab-*. Needs root.`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      topology: { type: "string" },
      state: { type: "string" },
      name: { type: "string" },
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

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`[lab] ${errorText(error)}`);
    process.exitCode = 1;
  },
);
