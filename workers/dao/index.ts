// What tools (bench/) use of governance: the tally, pure code without bindings.
export { isValidChoice, scoresOf, tallyOf, type CountedVote } from "./tally.js";
