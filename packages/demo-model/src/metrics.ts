/** Held-out evaluation of a binary classifier from its positive-class scores. */
export interface BinaryEvaluation {
  rows: number;
  positiveShare: number;
  accuracy: number;
  majorityAccuracy: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number;
  logLoss: number;
}

/** ROC AUC as the Mann-Whitney U statistic; tied scores count one half. */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSumPositive = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && scores[order[end + 1]!] === scores[order[start]!]) end++;
    const midRank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) {
      if (positive[order[k]!]) {
        positives++;
        rankSumPositive += midRank;
      }
    }
    start = end + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSumPositive - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function evaluateBinary(scores: ArrayLike<number>, positive: ArrayLike<boolean>, threshold = 0.5): BinaryEvaluation {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  let logLoss = 0;
  const eps = 1e-15;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, scores[i]!));
    const predicted = scores[i]! >= threshold;
    if (positive[i]) {
      logLoss -= Math.log(p);
      if (predicted) tp++;
      else fn++;
    } else {
      logLoss -= Math.log(1 - p);
      if (predicted) fp++;
      else tn++;
    }
  }
  const rows = scores.length;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const positiveShare = (tp + fn) / rows;
  return {
    rows,
    positiveShare,
    accuracy: (tp + tn) / rows,
    majorityAccuracy: Math.max(positiveShare, 1 - positiveShare),
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    rocAuc: rocAuc(scores, positive),
    logLoss: logLoss / rows,
  };
}
