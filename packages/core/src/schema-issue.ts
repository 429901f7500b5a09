import type { z } from "zod";

/** `field "amount": Invalid input: expected number, received string`, plus how many more problems the row has. */
export function describeSchemaIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const field = issue.path.length === 0 ? "" : `field "${issue.path.map(String).join(".")}": `;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem${error.issues.length > 2 ? "s" : ""} in this row)` : "";
  return `${field}${issue.message}${more}`;
}
