import type { ResultPoint } from "@vigil/monitor";
import { driftFigures } from "@/lib/drift";
import styles from "./drift.module.css";

/** An input's verdict as a word in a badge: drifted, no drift, or not judged (no stored result for the window). */
export function DriftBadge({ point }: { point: ResultPoint | undefined }) {
  if (!point) return <span className={`${styles.badge} ${styles.unjudged}`}>not judged</span>;
  return point.breached ? (
    <span className={`${styles.badge} ${styles.drifted}`} data-verdict="drifted">
      drifted
    </span>
  ) : (
    <span className={`${styles.badge} ${styles.calm}`} data-verdict="calm">
      no drift
    </span>
  );
}

/** The method, statistic, p-value and threshold that decided an input's verdict. */
export function DriftFigures({ point }: { point: ResultPoint }) {
  const f = driftFigures(point);
  return (
    <dl className={styles.figures}>
      <dt>method</dt>
      <dd>{f.method}</dd>
      <dt>statistic</dt>
      <dd>{f.statistic}</dd>
      <dt>p-value</dt>
      <dd>{f.pValue}</dd>
      <dt>drifted when</dt>
      <dd>{f.threshold}</dd>
    </dl>
  );
}
