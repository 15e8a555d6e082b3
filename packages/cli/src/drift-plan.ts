/**
 * A planted shift of one model input: `distance*1.5` scales it, `hour+3` adds to it. Columns
 * with categories wrap around (hour 23 + 3 is 2), so a shifted category stays a valid code.
 */
export interface FeatureShift {
  feature: string;
  operation: "*" | "+";
  amount: number;
}

export function parseShift(text: string): FeatureShift {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)([*+])(-?\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) throw new Error(`drift "${text}" is not FEATURE*FACTOR or FEATURE+OFFSET (e.g. distance*1.5, hour+3)`);
  return { feature: match[1]!, operation: match[2] as "*" | "+", amount: Number(match[3]) };
}

export interface ShiftableFeature {
  name: string;
  column: number;
  categories?: string[];
}

/** Returns a function that applies every shift to an input row in place. */
export function compileShifts(shifts: FeatureShift[], features: ShiftableFeature[]): (row: number[]) => number[] {
  const steps = shifts.map((shift) => {
    const feature = features.find((f) => f.name === shift.feature);
    if (!feature) throw new Error(`cannot shift "${shift.feature}": the model's features are ${features.map((f) => f.name).join(", ")}`);
    const size = feature.categories?.length;
    return (row: number[]) => {
      const v = row[feature.column]!;
      const shifted = shift.operation === "*" ? v * shift.amount : v + shift.amount;
      row[feature.column] = size ? ((Math.round(shifted) % size) + size) % size : shifted;
    };
  });
  return (row) => {
    for (const step of steps) step(row);
    return row;
  };
}
