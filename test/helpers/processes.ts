export {
  commandLine,
  cpuSeconds,
  descendantsOf,
  freePort,
  freePortRange,
  isAlive,
  rssBytes,
} from "../../stack/proc.js";
