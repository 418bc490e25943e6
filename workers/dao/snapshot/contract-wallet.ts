import { parseAbi, type PublicClient } from "viem";
import type { ContractSignatureCheck } from "./verify.js";

/** EIP-1271's `isValidSignature(bytes32,bytes)`, and the older `(bytes,bytes)` form Snapshot also accepts. */
const CURRENT = {
  abi: parseAbi(["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"]),
  magic: "0x1626ba7e",
} as const;
const OLD = {
  abi: parseAbi(["function isValidSignature(bytes data, bytes signature) view returns (bytes4)"]),
  magic: "0x20c13b0b",
} as const;

/** Asks the address's contract whether it signed `hash` (a contract wallet, such as a Safe). */
export const contractWalletCheck =
  (client: PublicClient): ContractSignatureCheck =>
  async (address, hash, sig) => {
    const ask = async ({ abi, magic }: typeof CURRENT | typeof OLD) => {
      try {
        return (
          (await client.readContract({ address, abi, functionName: "isValidSignature", args: [hash, sig] })) === magic
        );
      } catch {
        return false; // not a contract, or one that refuses: not its signature
      }
    };
    return (await ask(CURRENT)) || ask(OLD);
  };
