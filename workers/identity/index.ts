export { loadAuthority } from "./authority.js";
export { mintJwtSvid, verifyJwtSvid } from "./jwtsvid.js";
export { checkCsr, issueX509Svid } from "./x509svid.js";
