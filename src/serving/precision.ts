/**
 * One precision for every prediction the API shows (classify, history, tasks, stats):
 * probabilities and scores to 4 decimals, milliseconds to 2.
 */
export const roundScore = (x: number) => Math.round(x * 1e4) / 1e4;
export const roundMs = (x: number) => Math.round(x * 1e2) / 1e2;
