export { dashboardUrl } from "./api.js";
export { createActionKey, exportRootKey, initCa } from "./ca/authority.js";
export { Credential, adminToken, readCredential } from "./credential.js";
