export { peerNamespace } from "./netns.js";
