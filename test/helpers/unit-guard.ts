import { createRequire, syncBuiltinESMExports } from "node:module";

/**
 * The unit tier's rule, enforced rather than hoped for: a unit test starts no process, opens no
 * socket and reaches no kernel facility beyond files. Each of those entry points throws here, so
 * a test that needs one fails with this message instead of quietly slowing the tier down.
 */
const require = createRequire(import.meta.url);

function refuse(what: string): () => never {
  return () => {
    throw new Error(`a unit test may not ${what}: it belongs in the node tier (rename it from *.unit.test.ts)`);
  };
}

function replace(target: Record<string, unknown>, names: readonly string[], what: string): void {
  for (const name of names) target[name] = refuse(what);
}

// Required only to replace its entry points with refusals.
// eslint-disable-next-line security/detect-child-process
const childProcess = require("node:child_process") as Record<string, unknown>;
replace(
  childProcess,
  ["spawn", "spawnSync", "exec", "execSync", "execFile", "execFileSync", "fork"],
  "start a process",
);
const net = require("node:net") as { Server: { prototype: object }; Socket: { prototype: object } };
replace(net.Server.prototype as Record<string, unknown>, ["listen"], "listen on a socket");
replace(net.Socket.prototype as Record<string, unknown>, ["connect"], "open a socket");
replace(require("node:dgram") as Record<string, unknown>, ["createSocket"], "open a UDP socket");
syncBuiltinESMExports();
globalThis.fetch = refuse("use the network");
