import { z } from "zod";
import { NodeId } from "./ids.js";
import { SpiffeIdString } from "./spiffe-id.js";
import { MacAddress } from "./batman.js";

/** DNS-SD service type nodes announce on their mesh interfaces: `_x0tta6bl4._udp.local`. */
export const DISCOVERY_SERVICE_TYPE = "x0tta6bl4";

/**
 * A node's mDNS announcement, as TXT record strings. `att` says whether the node holds an SVID for
 * that SPIFFE ID (1) or only claims it (0); either way mDNS is unauthenticated: mTLS verifies.
 */
export const PeerAnnouncementTxt = z.object({
  id: NodeId,
  spiffe: SpiffeIdString,
  fw: z.string().min(1).max(64),
  att: z.enum(["0", "1"]),
  /**
   * The MACs of the node's batman-adv interfaces, comma-separated, its primary (the originator
   * address) first: batman-adv names a neighbor by the MAC of its interface on the shared link.
   */
  macs: z
    .string()
    .max(255)
    .transform((text) => text.split(","))
    .pipe(z.array(MacAddress).min(1).max(14))
    .optional(),
});
export type PeerAnnouncementTxt = z.infer<typeof PeerAnnouncementTxt>;
/** The TXT record as written: every value a string. */
export type PeerAnnouncementRecord = z.input<typeof PeerAnnouncementTxt>;
