/**
 * What a row of a model's first output is reported as, in the prediction log and in reference
 * samples alike: for a classifier (one score per class name) the class with the highest score
 * (the first on a tie) and that score; for a single score the value; otherwise nothing.
 */
export function answerOfScores(scores: ArrayLike<number>, classes: readonly string[] | undefined): { prediction: string; confidence: number } {
  if (classes && classes.length === scores.length && scores.length > 0) {
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[best]!) best = i;
    return { prediction: classes[best]!, confidence: scores[best]! };
  }
  return { prediction: scores.length === 1 ? String(scores[0]) : "", confidence: 0 };
}
