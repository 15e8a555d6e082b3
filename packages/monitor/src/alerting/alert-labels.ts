import { createHash } from "node:crypto";
import { InvalidRequestError } from "../errors.js";

export type Labels = Record<string, string>;

/** An Alertmanager-style matcher: name="value", name!="value", name=~"regex", name!~"regex". */
export interface Matcher {
  name: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

/** Parses `name="value"` (quotes required; \" and \\ escaped) with a message naming the accepted forms. */
export function parseMatcher(text: string): Matcher {
  const match = MATCHER.exec(text);
  if (!match) throw new InvalidRequestError(`matcher ${JSON.stringify(text)} is not name="value", name!="value", name=~"regex" or name!~"regex"`);
  const matcher = { name: match[1]!, op: match[2] as Matcher["op"], value: match[3]!.replace(/\\(.)/g, "$1") };
  if (matcher.op === "=~" || matcher.op === "!~") {
    try {
      new RegExp(`^(?:${matcher.value})$`);
    } catch (error) {
      throw new InvalidRequestError(`matcher ${JSON.stringify(text)}: ${(error as Error).message}`);
    }
  }
  return matcher;
}

export function formatMatcher(m: Matcher): string {
  return `${m.name}${m.op}${JSON.stringify(m.value)}`;
}

/** Whether labels satisfy every matcher; a missing label reads as "" (as in Alertmanager). Regexes are anchored. */
export function matches(labels: Labels, matchers: Matcher[]): boolean {
  return matchers.every((m) => {
    const value = labels[m.name] ?? "";
    switch (m.op) {
      case "=":
        return value === m.value;
      case "!=":
        return value !== m.value;
      case "=~":
        return new RegExp(`^(?:${m.value})$`).test(value);
      case "!~":
        return !new RegExp(`^(?:${m.value})$`).test(value);
      default:
        return false;
    }
  });
}

/** A stable identity for a label set: sha256 of the sorted pairs, 16 hex digits. */
export function fingerprint(labels: Labels): string {
  const canonical = Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join("\u0001");
  return createHash("sha256").update(canonical).digest("hex").slice(0, 16);
}

/** The labels a set of label sets all share with the same value. */
export function commonLabels(sets: Labels[]): Labels {
  if (sets.length === 0) return {};
  const [first, ...rest] = sets;
  return Object.fromEntries(Object.entries(first!).filter(([k, v]) => rest.every((s) => s[k] === v)));
}

/** `{{ $value }}` and `{{ $labels.name }}` in an annotation, filled in. */
export function expandTemplate(template: string, labels: Labels, value: number): string {
  return template.replace(/\{\{\s*\$(value|labels\.([A-Za-z_][A-Za-z0-9_]*))\s*\}\}/g, (_, what: string, name?: string) =>
    what === "value" ? formatValue(value) : (labels[name!] ?? ""),
  );
}

const formatValue = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4));
