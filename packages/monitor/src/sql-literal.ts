/**
 * A float written into SQL text, for fitted constants that a query uses once per row: JS prints
 * the shortest decimal that reads back as the same double, so nothing is lost, and ClickHouse
 * folds the constant instead of indexing a parameter array per row.
 */
export function floatLiteral(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`a fitted constant is not a finite number (${x}); it cannot be written into SQL`);
  return `toFloat64(${String(x)})`;
}

/** The value of monitored feature `index` in a predictions row, NaN where the row is too short. */
export const featureAt = (index: number): string => {
  if (!Number.isInteger(index) || index < 0) throw new Error(`feature index ${index} is not a position in the features array`);
  return `if(length(features) > ${index}, features[${index + 1}], nan)`;
};
