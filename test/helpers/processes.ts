export { commandLine, cpuSeconds, descendantsOf, freePort, isAlive, rssBytes } from "../../stack/proc.js";
