// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata polyfill
// loaded first; every use of the library goes through this module so the order always holds.
import "reflect-metadata";

export * as x509 from "@peculiar/x509";
