// Node's typings keep WebCrypto types under `node:crypto`; libraries written for the web
// (@peculiar/x509) name them as globals. These aliases make both agree in Node code.
type CryptoKey = import("node:crypto").webcrypto.CryptoKey;
type CryptoKeyPair = import("node:crypto").webcrypto.CryptoKeyPair;
type KeyUsage = import("node:crypto").webcrypto.KeyUsage;
type BufferSource = import("node:crypto").webcrypto.BufferSource;
