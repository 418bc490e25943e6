import { sha256Hex } from "../../lib/digest.js";
import hashedTypes from "./hashed-types.json" with { type: "json" };

/**
 * The kinds of message snapshot.js signs, identified as Snapshot's sequencer identifies them: by
 * the SHA-256 of the `types` JSON exactly as sent (`hashed-types.json` is snapshot.js's own
 * `hashedTypes.json`, checked against the installed package by a test). Every other type set is
 * refused, even one that would verify.
 */
export type MessageKind = (typeof hashedTypes)[keyof typeof hashedTypes];

const KINDS: ReadonlyMap<string, MessageKind> = new Map(Object.entries(hashedTypes));

/** The kinds this control plane acts on; the others are Snapshot's social features (follows, profiles…). */
export const HANDLED_KINDS = ["proposal", "vote", "vote-array", "vote-string", "delete-proposal"] as const;
export type HandledKind = (typeof HANDLED_KINDS)[number];

export const isHandled = (kind: MessageKind): kind is HandledKind =>
  (HANDLED_KINDS as readonly string[]).includes(kind);

/** The kind of a `types` value as sent (its JSON text), or null when snapshot.js defines no such set. */
export const kindOfTypes = async (typesJson: string): Promise<MessageKind | null> =>
  KINDS.get(await sha256Hex(typesJson)) ?? null;
