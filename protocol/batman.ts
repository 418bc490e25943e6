import { z } from "zod";

export const MacAddress = z.mac({ error: "must be a MAC address like 02:00:5e:10:00:01" });

/** One route in batman-adv's originator table: to `originator` through the neighbor `nextHop`. */
export const Route = z.object({
  originator: MacAddress,
  nextHop: MacAddress,
  /** The hard interface the route leaves through. */
  interface: z.string().max(15),
  tq: z.number().int().min(0).max(255),
  lastSeenMs: z.number().int().nonnegative(),
  /** batman-adv's chosen route to this originator. */
  best: z.boolean(),
});
export type Route = z.infer<typeof Route>;

export const BatmanNeighbor = z.object({
  address: MacAddress,
  interface: z.string().max(15),
  lastSeenMs: z.number().int().nonnegative(),
});
export type BatmanNeighbor = z.infer<typeof BatmanNeighbor>;

export const BatmanGateway = z.object({
  originator: MacAddress,
  nextHop: MacAddress,
  interface: z.string().max(15),
  tq: z.number().int().min(0).max(255).optional(),
  best: z.boolean(),
  bandwidthDownKbit: z.number().nonnegative().optional(),
  bandwidthUpKbit: z.number().nonnegative().optional(),
});
export type BatmanGateway = z.infer<typeof BatmanGateway>;
