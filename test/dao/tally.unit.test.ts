import { describe, expect, it } from "vitest";
import type { ProposalType, VoteChoice } from "../../protocol/index.js";
import { prng } from "../../node-firmware/mesh/simulated/prng.js";
import { snapshotJs } from "../../ctl/snapshot-client.js";
import { isValidChoice, scoresOf, tallyOf, type CountedVote } from "../../workers/dao/tally.js";

type Voting = new (
  proposal: { choices: string[] },
  votes: { choice: unknown; balance: number; scores: number[] }[],
  strategies: unknown[],
  selected: unknown,
) => { getScores(): number[]; getScoresTotal(): number };
interface VotingClass extends Voting {
  isValidChoice(choice: unknown, choices: string[]): boolean;
}
const classes = (snapshotJs.utils as unknown as { voting: Record<ProposalType, VotingClass> }).voting;

/** The package's own scores for the same votes. */
function packageScores(type: ProposalType, choices: number, votes: readonly CountedVote[]): number[] {
  const proposal = { choices: Array.from({ length: choices }, (_, i) => `choice ${String(i + 1)}`) };
  const counted = votes.map((v) => ({ choice: v.choice, balance: v.power, scores: [v.power] }));
  return new classes[type](proposal, counted, [{ name: "erc20-balance-of" }], undefined).getScores();
}

function randomChoice(type: ProposalType, choices: number, random: () => number): VoteChoice {
  const pick = () => 1 + Math.floor(random() * choices);
  const shuffled = () => Array.from({ length: choices }, (_, i) => i + 1).sort(() => random() - 0.5);
  switch (type) {
    case "single-choice":
    case "basic":
      return pick();
    case "approval":
      return shuffled().slice(0, Math.floor(random() * (choices + 1)));
    case "ranked-choice":
      return shuffled();
    case "weighted":
    case "quadratic":
      return Object.fromEntries(
        shuffled()
          .slice(0, 1 + Math.floor(random() * choices))
          .map((c) => [String(c), 1 + Math.floor(random() * 9)]),
      );
  }
}

const TYPES: ProposalType[] = ["single-choice", "basic", "approval", "ranked-choice", "weighted", "quadratic"];

describe("the tally, against snapshot.js's voting classes", () => {
  it.each(TYPES)("%s: the same scores for random electorates", (type) => {
    const random = prng(TYPES.indexOf(type) + 1);
    for (let round = 0; round < 40; round++) {
      const choices = type === "basic" ? 3 : 2 + Math.floor(random() * 5);
      const votes = Array.from({ length: 1 + Math.floor(random() * 60) }, () => ({
        choice: randomChoice(type, choices, random),
        // small integers half the time, so that ties (and the tie rules) come up
        power: round % 2 === 0 ? 1 + Math.floor(random() * 4) : Math.round(random() * 1000) / 10 + 0.1,
      }));
      const ours = scoresOf(type, choices, votes);
      const theirs = packageScores(type, choices, votes);
      ours.forEach((s, i) => {
        expect(s).toBeCloseTo(theirs[i] ?? Number.NaN, 9);
      });
    }
  });

  it("ranked-choice: eliminates the first of the tied lowest, as the package does", () => {
    const votes = [
      { choice: [1, 2, 3, 4], power: 3 },
      { choice: [2, 1, 3, 4], power: 3 },
      { choice: [3, 4, 1, 2], power: 2 },
      { choice: [4, 3, 2, 1], power: 2 },
    ];
    // Round 1: 3 and 4 tie lowest; 3 goes, its ballot moves to 4. Round 2: 1 goes. Final: 2 = 6, 4 = 4.
    expect(scoresOf("ranked-choice", 4, votes)).toEqual([0, 6, 0, 4]);
    expect(packageScores("ranked-choice", 4, votes)).toEqual([0, 6, 0, 4]);
  });

  it("accepts and refuses the choices the package accepts and refuses", () => {
    const choices = ["a", "b", "c"];
    const cases: [ProposalType, unknown][] = [
      ["single-choice", 1],
      ["single-choice", 3],
      ["single-choice", 0],
      ["single-choice", 4],
      ["single-choice", "1"],
      ["approval", []],
      ["approval", [1, 3]],
      ["approval", [1, 1]],
      ["approval", [4]],
      ["ranked-choice", [2, 1, 3]],
      ["ranked-choice", [1, 2]],
      ["ranked-choice", [1, 1, 2]],
      ["ranked-choice", []],
      ["weighted", { 1: 2, 3: 1 }],
      ["weighted", {}],
      ["weighted", { 4: 1 }],
      ["weighted", { 1: -1, 2: 3 }],
      ["weighted", { 1: 0 }],
      ["quadratic", { 2: 5 }],
      ["quadratic", [1]],
      ["quadratic", null],
    ];
    for (const [type, choice] of cases)
      expect([type, choice, isValidChoice(type, choice, choices.length)]).toEqual([
        type,
        choice,
        classes[type].isValidChoice(choice, choices),
      ]);
  });
});

describe("the result", () => {
  const settings = { quorum: 10, threshold: 0.6 };
  it("passes when quorum and threshold are met once voting has ended, and not before", () => {
    const votes = [
      { choice: 1, power: 7 },
      { choice: 2, power: 3 },
    ];
    const scores = scoresOf("single-choice", 2, votes);
    expect(tallyOf(settings, "single-choice", scores, votes, false)).toMatchObject({
      result: null,
      approval: 0.7,
      quorumMet: true,
    });
    expect(tallyOf(settings, "single-choice", scores, votes, true).result).toBe("passed");
  });

  it("counts abstentions toward quorum only, for basic", () => {
    const votes = [
      { choice: 1, power: 3 },
      { choice: 2, power: 1 },
      { choice: 3, power: 8 },
    ];
    const tally = tallyOf(settings, "basic", scoresOf("basic", 3, votes), votes, true);
    expect(tally).toMatchObject({ scoresTotal: 12, quorumMet: true, approval: 0.75, result: "passed" });
  });

  it("says no quorum below it, and rejected under the threshold", () => {
    const few = [{ choice: 1, power: 9 }];
    expect(tallyOf(settings, "single-choice", scoresOf("single-choice", 2, few), few, true).result).toBe("no-quorum");
    const split = [
      { choice: 1, power: 5 },
      { choice: 2, power: 5 },
    ];
    expect(tallyOf(settings, "single-choice", scoresOf("single-choice", 2, split), split, true).result).toBe(
      "rejected",
    );
  });
});
