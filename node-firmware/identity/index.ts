export { IdentityAgent } from "./agent.js";
export { createCsr, generateSvidKey } from "./attest-request.js";
export { attest, callEdge } from "./client.js";
export { DenyView } from "./deny-view.js";
export { exportPkcs8Pem, importPkcs8, readOptional, writePrivate } from "./keystore.js";
export { clientTlsOptions } from "./tls.js";
