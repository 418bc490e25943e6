export { peerNamespace } from "./netns.js";
export { parseTopology } from "./topology.js";
export { UmlLab, umlNodesThatFit, umlUnavailable } from "./uml.js";
export { startUmlMesh } from "./uml-mesh.js";
export { createUplink, removeUplink, umlUplink } from "./uml-uplink.js";
