import type { ProposalType, SpaceSettings, Tally, VoteChoice } from "../../protocol/index.js";

/** A stored (valid) vote as the tally weighs it. */
export interface CountedVote {
  choice: VoteChoice;
  power: number;
}

/**
 * Scores per choice, computed as snapshot.js's voting classes compute them (same formulas, same
 * order of floating-point operations; a test holds them to the package): the cast power splits
 * over choices as each voting type says.
 */
export function scoresOf(type: ProposalType, choiceCount: number, votes: readonly CountedVote[]): number[] {
  switch (type) {
    case "single-choice":
    case "basic":
      return indices(choiceCount).map((i) => sum(votes.filter((v) => v.choice === i + 1).map((v) => v.power)));
    case "approval":
      return indices(choiceCount).map((i) =>
        sum(votes.filter((v) => Array.isArray(v.choice) && v.choice.includes(i + 1)).map((v) => v.power)),
      );
    case "weighted":
      return weighted(choiceCount, votes);
    case "quadratic":
      return quadratic(choiceCount, votes);
    case "ranked-choice":
      return rankedChoice(choiceCount, votes);
  }
}

const indices = (n: number) => Array.from({ length: n }, (_, i) => i);
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const weights = (choice: VoteChoice) => choice as Record<string, number>;

/** `part` over the sum of `whole`, 0 when that is not a number (an empty vote). */
function share(part: number | undefined, whole: readonly number[]): number {
  const result = (part ?? Number.NaN) / sum(whole);
  return Number.isNaN(result) ? 0 : result;
}

function weighted(choiceCount: number, votes: readonly CountedVote[]): number[] {
  const percent = (part: number | undefined, whole: readonly number[]) => {
    const p = ((part ?? Number.NaN) / sum(whole)) * 100;
    return Number.isNaN(p) ? 0 : p;
  };
  const results = indices(choiceCount).map((i) =>
    sum(
      votes.map((v) => {
        const w = weights(v.choice);
        return (percent(w[i + 1], Object.values(w)) / 100) * v.power;
      }),
    ),
  );
  const total = sum(votes.map((v) => v.power));
  return results.map((r) => (total / 100) * percent(r, results));
}

function quadratic(choiceCount: number, votes: readonly CountedVote[]): number[] {
  const total = sum(votes.map((v) => v.power));
  const squares = indices(choiceCount).map((i) => {
    const roots = sum(
      votes.map((v) => {
        const w = weights(v.choice);
        return Math.sqrt(share(w[i + 1], Object.values(w)) * v.power);
      }),
    );
    return roots * roots;
  });
  return squares.map((q) => total * share(q, squares));
}

/**
 * Instant runoff as snapshot.js runs it: every candidate on any ballot is counted (zero included),
 * the lowest (the first such in choice order) is eliminated until one holds a majority of the
 * remaining power or fewer than three are left; scores are the final round's counts.
 */
function rankedChoice(choiceCount: number, votes: readonly CountedVote[]): number[] {
  let ballots = votes.map((v) => ({ ranking: v.choice as number[], power: v.power }));
  for (;;) {
    const candidates = [...new Set(ballots.flatMap((b) => b.ranking))].sort((a, b) => a - b);
    const counts = new Map(candidates.map((c) => [c, 0]));
    for (const b of ballots) counts.set(b.ranking[0] ?? 0, (counts.get(b.ranking[0] ?? 0) ?? 0) + b.power);
    const entries = [...counts];
    const top = entries.reduce((best, e) => (e[1] > best[1] ? e : best), [0, -Infinity]);
    const bottom = entries.reduce((worst, e) => (e[1] < worst[1] ? e : worst), [0, Infinity]);
    const remaining = sum(ballots.map((b) => b.power));
    if (top[1] > remaining / 2 || entries.length < 3) return indices(choiceCount).map((i) => counts.get(i + 1) ?? 0);
    ballots = ballots
      .map((b) => ({ ranking: b.ranking.filter((c) => c !== bottom[0]), power: b.power }))
      .filter((b) => b.ranking.length > 0);
  }
}

/** Whether a choice is valid for the type and the proposal's choices, by snapshot.js's rules. */
export function isValidChoice(type: ProposalType, choice: unknown, choiceCount: number): choice is VoteChoice {
  const inRange = (c: unknown) => typeof c === "number" && Number.isInteger(c) && c >= 1 && c <= choiceCount;
  const uniqueIndices = (c: unknown): c is number[] =>
    Array.isArray(c) && c.every(inRange) && new Set(c).size === c.length;
  switch (type) {
    case "single-choice":
    case "basic":
      return inRange(choice);
    case "approval":
      return uniqueIndices(choice);
    case "ranked-choice":
      return uniqueIndices(choice) && choice.length === choiceCount;
    case "weighted":
    case "quadratic": {
      if (typeof choice !== "object" || choice === null || Array.isArray(choice)) return false;
      const entries = Object.entries(choice as Record<string, unknown>);
      return (
        entries.length > 0 &&
        entries.every(
          ([k, v]) =>
            /^[1-9]\d*$/.test(k) && inRange(Number(k)) && typeof v === "number" && v >= 0 && Number.isFinite(v),
        ) &&
        entries.some(([, v]) => (v as number) > 0)
      );
    }
  }
}

/** Quorum, threshold and (once voting has ended) the result. */
export function tallyOf(
  settings: Pick<SpaceSettings, "quorum" | "threshold">,
  type: ProposalType,
  scores: number[],
  votes: readonly CountedVote[],
  ended: boolean,
): Tally {
  return tallyOfScores(
    settings,
    type,
    { scores, scoresTotal: sum(votes.map((v) => v.power)), votes: votes.length },
    ended,
  );
}

/** The same from scores alone (a Snapshot hub's, for a mirrored proposal). */
export function tallyOfScores(
  settings: Pick<SpaceSettings, "quorum" | "threshold">,
  type: ProposalType,
  { scores, scoresTotal, votes }: { scores: number[]; scoresTotal: number; votes: number },
  ended: boolean,
): Tally {
  const quorumMet = scoresTotal >= settings.quorum && votes > 0;
  const approval =
    type === "basic" ? share(scores[0], [scores[0] ?? 0, scores[1] ?? 0]) : share(scores[0], [scoresTotal]);
  const result = !ended ? null : !quorumMet ? "no-quorum" : approval >= settings.threshold ? "passed" : "rejected";
  return { scores, scoresTotal, votes, quorumMet, approval, result };
}
