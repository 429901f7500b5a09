/**
 * JSON string literals (`JSON.stringify` of a string), each made once: a
 * plan's datasets, keys, reasons and fingerprints repeat from task to task.
 */
export function jsonStrings(): (text: string) => string {
  const literals = new Map<string, string>();
  return (text) => {
    let literal = literals.get(text);
    if (literal === undefined) literals.set(text, (literal = JSON.stringify(text)));
    return literal;
  };
}
