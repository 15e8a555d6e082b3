import type { z } from "zod";

/** One line per problem, each naming the field it is about, for config errors a person can fix in one pass. */
export function formatZodIssues(source: string, error: z.ZodError): string {
  const lines = error.issues.map((issue) => {
    const path =
      issue.path.length === 0
        ? "(root)"
        : issue.path
            .map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`))
            .join("")
            .replace(/^\./, "");
    return `  - ${path}: ${issue.message}`;
  });
  return `${source} is invalid:\n${lines.join("\n")}`;
}
