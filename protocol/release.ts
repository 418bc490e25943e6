import pkg from "../package.json" with { type: "json" };

/** Release of this build: the control plane's version and the firmware version nodes report. */
export const RELEASE: string = pkg.version;
