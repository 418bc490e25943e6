#!/usr/bin/env node
import { runCli } from "./main.js";

const io = {
  out: (text: string) => {
    console.log(text);
  },
  err: (text: string) => {
    console.error(text);
  },
};

/** Exits once what was written has left: on a pipe, writes are asynchronous and `process.exit` would cut them off. */
function exitAfterOutput(code: number): void {
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

runCli(process.argv.slice(2), process.env, io).then(exitAfterOutput, (error: unknown) => {
  console.error(`x0ctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitAfterOutput(1);
});
