import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubSync, ProposalDetail, ProposalList, type SpaceSettingsInput } from "../../protocol/index.js";
import { runCliAgainst, startControlPlane, type ControlPlane } from "../helpers/control-plane.js";

const FIXTURES = new URL("../fixtures/snapshot-hub/", import.meta.url);
const CLOSED = "0x8a3c9b6f1e2d4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345ab";
const EARLY = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";

let cp: ControlPlane;
let hub: Server;
let hubUrl: string;
const asked: { query: string; variables: Record<string, unknown> }[] = [];

/** A local stand-in for a Snapshot hub: recorded GraphQL answers, paged as the hub pages them. */
async function startHub(): Promise<Server> {
  const proposals = (
    JSON.parse(await readFile(new URL("proposals.json", FIXTURES), "utf8")) as { data: { proposals: unknown[] } }
  ).data.proposals;
  const votes = JSON.parse(await readFile(new URL("votes.json", FIXTURES), "utf8")) as Record<string, unknown[]>;
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const { query, variables } = JSON.parse(body) as { query: string; variables: Record<string, unknown> };
      asked.push({ query, variables });
      const page = (items: unknown[]) =>
        items.slice(Number(variables.skip), Number(variables.skip) + Number(variables.first));
      const data = query.includes("proposals(")
        ? { proposals: variables.space === "relay.eth" ? page(proposals) : [] }
        : { votes: page(votes[String(variables.proposal)] ?? []) };
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${cp.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${await cp.adminJwt()}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return response.json();
}

beforeAll(async () => {
  hub = await startHub();
  hubUrl = `http://127.0.0.1:${String((hub.address() as AddressInfo).port)}/graphql`;
  cp = await startControlPlane();
  const settings: SpaceSettingsInput = {
    name: "mirror of relay.eth",
    admins: ["0x0000000000000000000000000000000000000001"],
    quorum: 100,
    strategy: { name: "erc20-balance-of", token: `0x${"ab".repeat(20)}`, decimals: 18, symbol: "RLY" },
    mirror: { hub: hubUrl, space: "relay.eth" },
  };
  await api("PUT", "/api/v1/dao/spaces/relay.x0", settings);
});
afterAll(async () => {
  await cp.dispose();
  hub.close();
});

describe("mirroring a Snapshot space from a hub's GraphQL API", () => {
  it("imports proposals, votes and scores as the hub's word, and leaves out types it does not tally", async () => {
    const synced = HubSync.parse(await api("POST", "/api/v1/dao/spaces/relay.x0/sync"));
    expect(synced).toEqual({ hub: hubUrl, space: "relay.eth", proposals: 2, votes: 5, skipped: 1 });
    expect(asked[0]?.variables).toMatchObject({ space: "relay.eth", first: 100, skip: 0 });
    const { proposals } = ProposalList.parse(await api("GET", "/api/v1/dao/spaces/relay.x0/proposals"));
    expect(proposals.map((p) => [p.id, p.provenance, p.state])).toEqual([
      [CLOSED, "hub", "closed"],
      [EARLY, "hub", "closed"],
    ]);
    const closed = ProposalDetail.parse(await api("GET", `/api/v1/dao/proposals/${CLOSED}`));
    expect(closed.tally).toMatchObject({ scores: [1520.5, 310.25], scoresTotal: 1830.75, votes: 2, result: "passed" });
    expect(closed.votes.map((v) => [v.voter, v.power, v.provenance])).toEqual([
      ["0x3333333333333333333333333333333333333333", 1520.5, "hub"],
      ["0x4444444444444444444444444444444444444444", 310.25, "hub"],
    ]);
    const early = ProposalDetail.parse(await api("GET", `/api/v1/dao/proposals/${EARLY}`));
    expect(early.tally).toMatchObject({ scores: [40, 60, 5], approval: 0.4, result: "rejected" });
    expect(early.payload).toBeNull(); // the hub's proposals are never executed here
  });

  it("syncs again without duplicating, through x0ctl too", async () => {
    const again = await runCliAgainst(cp, "dao", "sync", "relay.x0");
    expect(again.out).toBe(
      "relay.eth from " + hubUrl + ": 2 proposal(s), 5 vote(s), 1 skipped (voting type not tallied here)",
    );
    const closed = ProposalDetail.parse(await api("GET", `/api/v1/dao/proposals/${CLOSED}`));
    expect(closed.votes).toHaveLength(2);
  });

  it("says why when the hub cannot be read", async () => {
    hub.close();
    const response = await fetch(`${cp.url}/api/v1/dao/spaces/relay.x0/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${await cp.adminJwt()}` },
    });
    expect(response.status).toBe(502);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/the Snapshot hub/);
  });
});
