import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../workers/env.js";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** The bootstrap admin's keys: `{ name, publicKey, privateKeyPkcs8 }`. */
      TEST_ADMIN: string;
      TEST_ROOT_PEM: string;
      /** `{ text, vector }`: a vector the Node embedder gave directly (base64 float32). */
      TEST_EMBED_REFERENCE: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../../workers/index.js");
    }
  }
}
