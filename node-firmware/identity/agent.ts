import { EventEmitter } from "node:events";
import { z } from "zod";
import { ActionKey, SpiffeBundle, controlPlaneAudience, type AttestResponse } from "../../protocol/index.js";
import type { AttestClaim, KeyPair } from "./attest-request.js";
import { parseBundle, parseSpiffeId, x509, type Bundle } from "../../spiffe/index.js";
import { backoffDelay } from "../lib/backoff.js";
import { sleep, systemClock, type Cancel, type Clock } from "../lib/clock.js";
import { errorText, type Logger } from "../lib/log.js";
import { EdgeRequestError, attest, fetchBundle, mintJwtSvid } from "./client.js";
import { Keystore, exportPkcs8Pem, readOptional, writePrivate } from "./keystore.js";

export interface IdentityConfig {
  edgeUrl: string;
  stateDir: string;
  /** Needed once, for the first attestation; afterwards the registered node key suffices. */
  joinToken?: string;
}

/** What TLS needs: the SVID chain (leaf first), its private key, and the trust bundle. */
export interface SvidMaterial {
  spiffeId: string;
  certificates: string[];
  keyPem: string;
  notBefore: number;
  notAfter: number;
  /** When this node received it; the SVID's notBefore is backdated for clock skew. */
  receivedAt: number;
  /** The trust domain's bundle, read by the SPIFFE rules. */
  bundle: Bundle;
  /** The bundle as the edge sent it, to notice a change and to persist. */
  bundleDocument: SpiffeBundle;
  /** Keys MAPE-K actions must be signed with. */
  actionKeys: ActionKey[];
}

const Stored = z.object({
  spiffeId: z.string(),
  certificates: z.array(z.string()).min(1),
  notBefore: z.number(),
  notAfter: z.number(),
  receivedAt: z.number(),
  bundle: SpiffeBundle,
  actionKeys: z.array(ActionKey).default([]),
});

const JWT_REFRESH_BEFORE_MS = 60_000;
/** Rotation and bundle refresh never hold a stopping agent: it rotates again on its next start. */
const BACKGROUND = { background: true };
/** How often to fetch a bundle that gives no `spiffe_refresh_hint` (go-spiffe's default is 5 min). */
const DEFAULT_REFRESH_HINT_S = 300;

/** What the identity agent does against the edge, each of which can fail (and is retried). */
export type IdentityOperation = "attest" | "rotate" | "jwt_refresh" | "bundle_refresh";

/**
 * The node side of the identity fabric: keeps the node key, attests (join token first, proof of
 * possession after), rotates the X.509-SVID at half its lifetime, refreshes the bundle by its
 * refresh hint, and holds a JWT-SVID for the control plane. A node whose SVID expired while it was
 * offline simply re-attests by proof of possession: no human is needed. Emits `svid` whenever the
 * SVID in use changes (loaded, issued or rotated).
 */
export class IdentityAgent extends EventEmitter<{ svid: [SvidMaterial]; bundle: [Bundle] }> {
  private readonly keystore: Keystore;
  /** Loaded (or created) once: concurrent first calls must not each write a new key. */
  private nodeKey: Promise<KeyPair> | undefined;
  private renewing: Promise<void> | undefined;
  private svid: SvidMaterial | undefined;
  private jwt: { token: string; expiresAt: number } | undefined;
  private cancelRotation: Cancel | undefined;
  private cancelBundleRefresh: Cancel | undefined;
  /** Failures in a row, for the backoff. */
  private consecutiveFailures = 0;
  private stopped = false;
  /** Failed attempts, by operation. */
  readonly failed: Record<IdentityOperation, number> = { attest: 0, rotate: 0, jwt_refresh: 0, bundle_refresh: 0 };

  constructor(
    private readonly config: IdentityConfig,
    private readonly log: Logger,
    /** Times rotation, bundle refresh and retries, and judges expiry. */
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.keystore = new Keystore(config.stateDir);
  }

  get current(): SvidMaterial | undefined {
    return this.svid;
  }

  /** Resolves once the node holds a valid SVID, retrying with backoff while the edge is unreachable. */
  async start(): Promise<SvidMaterial> {
    this.nodeKey ??= this.keystore.nodeKey();
    await this.nodeKey;
    const stored = await this.loadStored();
    if (stored && stored.notAfter > this.clock.now()) {
      this.svid = stored;
      this.log.info("loaded SVID", { spiffeId: stored.spiffeId, expiresAt: new Date(stored.notAfter).toISOString() });
      this.scheduleRotation();
      this.emit("svid", stored);
    } else {
      await this.renewUntilDone();
    }
    this.scheduleBundleRefresh();
    return this.svid as SvidMaterial;
  }

  stop(): void {
    this.stopped = true;
    this.cancelRotation?.();
    this.cancelBundleRefresh?.();
  }

  /** A JWT-SVID for the control plane, renewed a minute before it expires. */
  async controlPlaneToken(): Promise<string> {
    const now = this.clock.now();
    if (this.jwt && this.jwt.expiresAt - now > JWT_REFRESH_BEFORE_MS) return this.jwt.token;
    if (this.svid && this.nodeKey) {
      try {
        const minted = await mintJwtSvid(this.config.edgeUrl, await this.nodeKey, this.svid.spiffeId, [
          controlPlaneAudience(parseTrustDomain(this.svid.spiffeId)),
        ]);
        this.jwt = { token: minted.token, expiresAt: Date.parse(minted.expiresAt) };
        return this.jwt.token;
      } catch (error) {
        this.failed.jwt_refresh++;
        this.log.warn("JWT-SVID refresh failed, re-attesting", { error: errorText(error) });
      }
    }
    await this.renew();
    return (this.jwt as { token: string }).token;
  }

  /** Forget the cached JWT-SVID (the edge refused it), so the next call renews. */
  invalidateToken(): void {
    this.jwt = undefined;
  }

  private async renewUntilDone(): Promise<void> {
    for (;;) {
      try {
        await this.renew();
        return;
      } catch (error) {
        if (this.stopped) throw error;
        this.failed.attest++;
        if (error instanceof EdgeRequestError && !error.retriable) throw error;
        const delay = backoffDelay(this.consecutiveFailures++, 500, 30_000);
        this.log.warn("attestation failed, retrying", { error: errorText(error), delayMs: delay });
        await sleep(this.clock, delay);
      }
    }
  }

  /** One attestation at a time: callers that arrive while one runs share it (a join token is single use). */
  private renew(): Promise<void> {
    this.renewing ??= this.attestOnce().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async attestOnce(): Promise<void> {
    const nodeKey = await (this.nodeKey ??= this.keystore.nodeKey());
    const registration = await readOptional(this.keystore.path("registration.json"));
    const spiffeId = registration ? (JSON.parse(registration) as { spiffeId: string }).spiffeId : undefined;
    const claims: AttestClaim[] = [];
    if (spiffeId) claims.push({ spiffeId });
    if (this.config.joinToken) claims.push({ joinToken: this.config.joinToken });
    if (claims.length === 0)
      throw new EdgeRequestError("not registered yet and no join token configured (identity.joinToken)", 401);
    let lastError: unknown;
    for (const claim of claims) {
      try {
        const { response, svidKey } = await attest(this.config.edgeUrl, nodeKey, claim);
        await this.store(response, await exportPkcs8Pem(svidKey.privateKey));
        this.consecutiveFailures = 0;
        return;
      } catch (error) {
        lastError = error;
        // A registered node that lost its registration may still hold a join token: try it next.
        if (!(error instanceof EdgeRequestError) || error.retriable) throw error;
      }
    }
    throw lastError;
  }

  private async store(response: AttestResponse, keyPem: string): Promise<void> {
    const leafValidity = new x509.X509Certificate(response.x509Svid.certificates[0] as string);
    const svid: SvidMaterial = {
      spiffeId: response.spiffeId,
      certificates: response.x509Svid.certificates,
      keyPem,
      notBefore: leafValidity.notBefore.getTime(),
      notAfter: leafValidity.notAfter.getTime(),
      receivedAt: this.clock.now(),
      bundle: await readBundle(response.spiffeId, response.bundle),
      bundleDocument: response.bundle,
      actionKeys: response.actionKeys,
    };
    await writePrivate(this.keystore.path("svid-key.pem"), keyPem);
    await this.persist(svid);
    await writePrivate(this.keystore.path("registration.json"), JSON.stringify({ spiffeId: svid.spiffeId }));
    this.svid = svid;
    this.jwt = { token: response.jwtSvid.token, expiresAt: Date.parse(response.jwtSvid.expiresAt) };
    this.log.info("SVID issued", {
      spiffeId: svid.spiffeId,
      serial: response.x509Svid.serial,
      expiresAt: response.x509Svid.expiresAt,
    });
    this.scheduleRotation();
    this.emit("svid", svid);
  }

  private async loadStored(): Promise<SvidMaterial | undefined> {
    const [text, keyPem] = await Promise.all([
      readOptional(this.keystore.path("svid.json")),
      readOptional(this.keystore.path("svid-key.pem")),
    ]);
    if (!text || !keyPem) return undefined;
    const parsed = Stored.safeParse(JSON.parse(text));
    if (!parsed.success) return undefined;
    const { bundle: bundleDocument, ...stored } = parsed.data;
    return { ...stored, keyPem, bundle: await readBundle(stored.spiffeId, bundleDocument), bundleDocument };
  }

  /** Everything but the key (which has a file of its own), with the bundle as the edge sent it. */
  private async persist(svid: SvidMaterial): Promise<void> {
    const { keyPem: _key, bundle: _parsed, bundleDocument, ...rest } = svid;
    await writePrivate(this.keystore.path("svid.json"), JSON.stringify({ ...rest, bundle: bundleDocument }, null, 2));
  }

  /**
   * Rotate at half the lifetime, as SPIRE agents do, counted from when the SVID arrived (its
   * notBefore is backdated); on failure retry with backoff until expiry and beyond.
   */
  private scheduleRotation(delayMs?: number): void {
    this.cancelRotation?.();
    if (this.stopped || !this.svid) return;
    const start = Math.max(this.svid.notBefore, this.svid.receivedAt);
    const half = start + (this.svid.notAfter - start) / 2;
    const delay = delayMs ?? Math.max(0, half - this.clock.now());
    this.cancelRotation = this.clock.after(
      delay,
      () => {
        this.renew().catch((error: unknown) => {
          this.failed.rotate++;
          const retry = backoffDelay(this.consecutiveFailures++, 1000, 60_000);
          this.log.warn("SVID rotation failed, retrying", { error: errorText(error), delayMs: retry });
          this.scheduleRotation(retry);
        });
      },
      BACKGROUND,
    );
  }

  private scheduleBundleRefresh(): void {
    this.cancelBundleRefresh?.();
    if (this.stopped || !this.svid) return;
    const refreshMs = (this.svid.bundle.refreshHintS ?? DEFAULT_REFRESH_HINT_S) * 1000;
    const refresh = () => {
      this.refreshBundle();
    };
    this.cancelBundleRefresh = this.clock.after(refreshMs, refresh, BACKGROUND);
  }

  private refreshBundle(): void {
    fetchBundle(this.config.edgeUrl)
      .then(async (document) => {
        if (!this.svid || JSON.stringify(document) === JSON.stringify(this.svid.bundleDocument)) return;
        const bundle = await readBundle(this.svid.spiffeId, document);
        this.svid = { ...this.svid, bundle, bundleDocument: document };
        await this.persist(this.svid);
        this.emit("bundle", bundle);
      })
      .catch((error: unknown) => {
        this.failed.bundle_refresh++;
        this.log.warn("bundle refresh failed", { error: errorText(error) });
      })
      .finally(() => {
        this.scheduleBundleRefresh();
      });
  }
}

/** The bundle of our own trust domain, by the SPIFFE rules; a bundle they refuse is an error. */
async function readBundle(spiffeId: string, document: SpiffeBundle): Promise<Bundle> {
  return (await parseBundle(parseTrustDomain(spiffeId), document)).bundle;
}

function parseTrustDomain(spiffeId: string): string {
  const parsed = parseSpiffeId(spiffeId);
  if (!parsed.ok) throw new Error(`stored SPIFFE ID is invalid: ${parsed.reason}`);
  return parsed.id.trustDomain;
}
