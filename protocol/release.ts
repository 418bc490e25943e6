/**
 * Release of this build: the control plane's version and the firmware version nodes report. A
 * constant, so the contract depends on nothing but zod; a test holds it equal to package.json's.
 */
export const RELEASE = "0.1.0";
