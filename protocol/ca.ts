import { z } from "zod";

// Strict, unlike the messages: these are the operator's secrets, written by x0ctl and read by the
// control plane of the same release, so a field they do not know is a typo or the wrong file.
const PemText = z.string().min(1);

/** One signing CA held by the control plane: its chain (intermediate first) and PKCS#8 private key. */
export const SigningCa = z.strictObject({ chain: z.array(PemText).min(1), key: PemText });
export type SigningCa = z.infer<typeof SigningCa>;

/** The Ed25519 key MAPE-K actions are signed with; nodes get its public half with their SVIDs. */
export const ActionSigningKey = z.strictObject({ kid: z.string(), privateKeyPkcs8: z.string(), publicKey: z.string() });
export type ActionSigningKey = z.infer<typeof ActionSigningKey>;

/**
 * The control plane's CA secret (`X0_CA`), written by `x0ctl ca …`. Rotation follows SPIRE:
 * `next` is published in the bundle before it signs anything; after promotion the former active
 * CA stays published as `previous` until `retireAt`, when all it signed has expired.
 */
export const CaSecret = z.strictObject({
  v: z.literal(1),
  trustDomain: z.string(),
  /** Trust anchors: the offline root(s). */
  roots: z.array(PemText).min(1),
  active: SigningCa,
  next: SigningCa.optional(),
  previous: z.strictObject({ chain: z.array(PemText).min(1), retireAt: z.iso.datetime() }).optional(),
  actionKey: ActionSigningKey.optional(),
});
export type CaSecret = z.infer<typeof CaSecret>;

/** An admin whose Ed25519 key is trusted from configuration (`X0_BOOTSTRAP_ADMINS`), before any join token exists. */
export const BootstrapAdmin = z.strictObject({ name: z.string(), key: z.string() });
export const BootstrapAdmins = z.array(BootstrapAdmin);
