import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort, freePortRange } from "../../stack/proc.js";

const EPHEMERAL_FIRST = 32_768;

async function bind(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

describe("free ports for local servers", () => {
  it("are chosen below the kernel's ephemeral range, where a client socket cannot take one first", async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) expect(port).toBeLessThan(EPHEMERAL_FIRST);
    await Promise.all(ports.map(bind));
  });

  it("are handed out once, even to callers that have not bound theirs yet", async () => {
    const singles = await Promise.all(Array.from({ length: 200 }, () => freePort()));
    const base = await freePortRange(50);
    const range = Array.from({ length: 50 }, (_, i) => base + i);
    expect(new Set([...singles, ...range]).size).toBe(singles.length + range.length);
  });
});
