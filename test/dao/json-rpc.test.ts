import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  decodeFunctionData,
  encodeFunctionResult,
  erc20Abi,
  hashTypedData,
  parseAbi,
  recoverAddress,
  type Hex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProposalDetail, SNAPSHOT_DOMAIN, SNAPSHOT_TYPES, type SpaceSettingsInput } from "../../protocol/index.js";
import { startControlPlane, type ControlPlane } from "../helpers/control-plane.js";
import { signEnvelope } from "../helpers/snapshot.js";

/**
 * No Ethereum node runs here, so this stands in for one: a JSON-RPC server that answers `eth_call`
 * for an ERC-20's `balanceOf` at a block and for a contract wallet's EIP-1271 `isValidSignature`
 * (a 1-of-1 wallet: valid when its owner's key signed the hash). The calls and answers are ABI
 * encoded and decoded by viem on both sides, as a node would see them.
 */
const TOKEN = "0x00000000000000000000000000000000000000dd";
const WALLET = "0x000000000000000000000000000000000000c0de";
const ERC1271 = parseAbi(["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"]);
const owner = privateKeyToAccount(generatePrivateKey());
const holder = privateKeyToAccount(generatePrivateKey());
/** Balances by block: the holder had 5 tokens at block 10, 9 from block 20. */
const balanceAt = (address: string, block: bigint) =>
  address.toLowerCase() === holder.address.toLowerCase()
    ? (block >= 20n ? 9n : block >= 10n ? 5n : 0n) * 10n ** 18n
    : 0n;

let rpc: Server;
let cp: ControlPlane;
const calls: string[] = [];

async function answer(method: string, params: unknown[]): Promise<unknown> {
  if (method === "eth_chainId") return "0x1";
  if (method !== "eth_call") throw new Error(`unexpected ${method}`);
  const [call, block] = params as [{ to: string; data: Hex }, string];
  const contract = call.to.toLowerCase();
  if (contract.endsWith(TOKEN.slice(2))) {
    const { args } = decodeFunctionData({ abi: erc20Abi, data: call.data });
    calls.push(`balanceOf@${block}`);
    return encodeFunctionResult({
      abi: erc20Abi,
      functionName: "balanceOf",
      result: balanceAt(args[0] as string, BigInt(block)),
    });
  }
  if (contract.endsWith(WALLET.slice(2))) {
    const { args } = decodeFunctionData({ abi: ERC1271, data: call.data });
    calls.push("isValidSignature");
    const signer = await recoverAddress({ hash: args[0], signature: args[1] }).catch(() => "");
    const valid = signer.toLowerCase() === owner.address.toLowerCase();
    return encodeFunctionResult({
      abi: ERC1271,
      functionName: "isValidSignature",
      result: valid ? "0x1626ba7e" : "0xffffffff",
    });
  }
  return "0x"; // no contract at that address
}

beforeAll(async () => {
  rpc = createServer((request, response) => {
    let body = "";
    request.on("data", (c: Buffer) => (body += c.toString()));
    request.on("end", () => {
      const { id, method, params } = JSON.parse(body) as { id: number; method: string; params: unknown[] };
      answer(method, params).then(
        (result) => response.end(JSON.stringify({ jsonrpc: "2.0", id, result })),
        (error: unknown) =>
          response.end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32000, message: String(error) } })),
      );
    });
  });
  await new Promise<void>((resolve) => rpc.listen(0, "127.0.0.1", resolve));
  cp = await startControlPlane({ DAO_RPC_URL: `http://127.0.0.1:${String((rpc.address() as AddressInfo).port)}` });
  const settings: SpaceSettingsInput = {
    name: "on chain",
    admins: [WALLET],
    strategy: { name: "erc20-balance-of", token: TOKEN, decimals: 18, symbol: "X0", source: "rpc" },
  };
  await fetch(`${cp.url}/api/v1/dao/spaces/chain.x0`, {
    method: "PUT",
    headers: { authorization: `Bearer ${await cp.adminJwt()}`, "content-type": "application/json" },
    body: JSON.stringify(settings),
  });
});
afterAll(async () => {
  await cp.dispose();
  rpc.close();
});

const post = async (body: unknown) => {
  const response = await fetch(`${cp.url}/api/v1/dao/msg`, { method: "POST", body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { id?: string; reason?: string } };
};

describe("over a JSON-RPC endpoint (DAO_RPC_URL)", () => {
  let proposal: string;

  it("takes a contract wallet's proposal: its owner signed, the wallet's EIP-1271 check agrees", async () => {
    const now = Math.floor(Date.now() / 1000);
    const message = {
      from: WALLET,
      space: "chain.x0",
      timestamp: now,
      type: "single-choice",
      title: "by a contract wallet",
      body: "",
      discussion: "",
      choices: ["a", "b"],
      labels: [],
      start: now - 5,
      end: now + 3600,
      snapshot: 15,
      plugins: "{}",
      privacy: "",
      app: "",
    };
    const typed = {
      domain: SNAPSHOT_DOMAIN,
      types: SNAPSHOT_TYPES.proposal,
      primaryType: "Proposal",
      message,
    } as never;
    const sig = await owner.sign({ hash: hashTypedData(typed) });
    const accepted = await post({
      address: WALLET,
      sig,
      data: { domain: SNAPSHOT_DOMAIN, types: SNAPSHOT_TYPES.proposal, message },
    });
    expect(accepted.status).toBe(200);
    proposal = accepted.body.id as string;
    const forged = await post({
      address: WALLET,
      sig: await holder.sign({ hash: hashTypedData(typed) }),
      data: { domain: SNAPSHOT_DOMAIN, types: SNAPSHOT_TYPES.proposal, message: { ...message, title: "forged" } },
    });
    expect(forged.body.reason).toBe("bad-signature");
    expect(calls.filter((c) => c === "isValidSignature").length).toBeGreaterThanOrEqual(2);
  });

  it("weighs a vote by balanceOf at the proposal's block", async () => {
    const vote = await signEnvelope(holder, SNAPSHOT_TYPES.vote, {
      space: "chain.x0",
      timestamp: Math.floor(Date.now() / 1000),
      proposal,
      choice: 2,
      reason: "",
      app: "",
      metadata: "{}",
    });
    expect((await post(vote)).status).toBe(200);
    expect(calls).toContain("balanceOf@0xf"); // block 15, not the latest
    const detail = ProposalDetail.parse(
      await (
        await fetch(`${cp.url}/api/v1/dao/proposals/${proposal}`, {
          headers: { authorization: `Bearer ${await cp.adminJwt()}` },
        })
      ).json(),
    );
    expect(detail.tally.scores).toEqual([0, 5]);
  });
});
