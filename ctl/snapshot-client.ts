import snapshotModule from "@snapshot-labs/snapshot.js";

/**
 * snapshot.js itself (Client712, utils.voting…). Its CommonJS entry assigns that object to
 * `module.exports` while its typings say `export default`, so under NodeNext TypeScript types the
 * default import as the module: at run time it is the object.
 */
export const snapshotJs = snapshotModule as unknown as (typeof snapshotModule)["default"];
