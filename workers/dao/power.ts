import { createPublicClient, erc20Abi, formatUnits, http, type PublicClient } from "viem";
import type { Database } from "../db/client.js";
import { Refused } from "./snapshot/verify.js";
import { balanceAt, type SpaceRecord } from "./store.js";

/** Voting power by erc20-balance-of: an address's token balance at a block, ÷ 10^decimals. */
export type VotingPower = (space: SpaceRecord, address: `0x${string}`, block: number) => Promise<number>;

/** A raw balance as voting power: ÷ 10^decimals. */
export const powerOfBalance = (raw: string | bigint | null, decimals: number): number =>
  raw === null ? 0 : Number(formatUnits(BigInt(raw), decimals));

/** From the balances admins load (the embedded default): the latest loaded at or before the block. */
export const tablePower =
  (db: Database): VotingPower =>
  async (space, address, block) =>
    powerOfBalance(await balanceAt(db, space.id, address, block), space.settings.strategy.decimals);

/** From the token contract: `balanceOf(address)` at the block, over JSON-RPC. */
export const rpcPower =
  (client: PublicClient): VotingPower =>
  async (space, address, block) => {
    try {
      const raw = await client.readContract({
        address: space.settings.strategy.token,
        abi: erc20Abi,
        functionName: "balanceOf",
        args: [address],
        blockNumber: BigInt(block),
      });
      return powerOfBalance(raw, space.settings.strategy.decimals);
    } catch (error) {
      const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
      throw new Refused("power-unavailable", `voting power could not be read from the JSON-RPC endpoint: ${first}`);
    }
  };

export const rpcClient = (url: string): PublicClient => createPublicClient({ transport: http(url, { retryCount: 1 }) });

/** The space's source: its strategy names it; "rpc" without an endpoint is refused, not guessed. */
export function powerFor(space: SpaceRecord, db: Database, rpc: PublicClient | undefined): VotingPower {
  if (space.settings.strategy.source === "balances") return tablePower(db);
  if (!rpc)
    throw new Refused(
      "power-unavailable",
      "the space reads voting power over JSON-RPC, but no DAO_RPC_URL is configured",
    );
  return rpcPower(rpc);
}
