export { routeActions } from "./backend.js";
export { ActionExecutor } from "./executor.js";
