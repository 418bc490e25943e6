#!/usr/bin/env node
/**
 * The lab's MQTT broker, run inside the lab's core namespace: the embedded broker (validation,
 * counting, answers) on the management bridge, plain MQTT — the lab's networks exist only in its
 * own namespaces. Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { createLogger } from "../node-firmware/lib/index.js";
import { EmbeddedBroker } from "../node-firmware/mqtt/index.js";

const { values } = parseArgs({ options: { host: { type: "string" }, port: { type: "string" } } });
const log = createLogger({ node: "lab-broker" }, "info");
const broker = await EmbeddedBroker.start({ host: values.host ?? "0.0.0.0", port: Number(values.port ?? 1883) }, log);
const stop = () => {
  void broker.close().then(() => process.exit(0));
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
