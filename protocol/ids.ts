import { z } from "zod";

/** A node or gateway id: lowercase DNS-label style, so it is safe in topics, SPIFFE IDs and file names. */
export const NodeId = z
  .string()
  .regex(/^(?!-)[a-z0-9-]{1,63}(?<!-)$/, "must be 1-63 chars of a-z, 0-9 and '-', not starting or ending with '-'");
export type NodeId = z.infer<typeof NodeId>;

export const Role = z.enum(["node", "gateway"]);
export type Role = z.infer<typeof Role>;

/** Unix time in milliseconds. */
export const EpochMs = z.number().int().nonnegative();
