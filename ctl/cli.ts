#!/usr/bin/env node
import { runCli } from "./main.js";

const io = { out: (text: string) => { console.log(text); }, err: (text: string) => { console.error(text); } };
runCli(process.argv.slice(2), process.env, io).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`x0ctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
