import { projectLineage, type Lineage } from "@reflow/api";
import type { GlobalOptions } from "../main.js";

export async function lineageCommand(options: GlobalOptions & { format: "text" | "mermaid" | "dot" | "json" }): Promise<void> {
  const lineage = await projectLineage({ projectDir: options.project });
  process.stdout.write(formatLineage(lineage, options.format));
}

export function formatLineage(lineage: Lineage, format: "text" | "mermaid" | "dot" | "json"): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(lineage, null, 2)}\n`;
    case "mermaid":
      return `flowchart LR\n${[
        ...lineage.nodes.map((n) => `  ${n.name}${n.kind === "source" ? `[(${n.name})]` : `[${n.name}]`}`),
        ...lineage.edges.map((e) => `  ${e.from} --> ${e.to}`),
      ].join("\n")}\n`;
    case "dot":
      return `digraph reflow {\n  rankdir=LR;\n${[
        ...lineage.nodes.map((n) => `  "${n.name}" [shape=${n.kind === "source" ? "cylinder" : "box"}];`),
        ...lineage.edges.map((e) => `  "${e.from}" -> "${e.to}" [label="${e.mapping}"];`),
      ].join("\n")}\n}\n`;
    case "text":
      return textTree(lineage);
  }
}

/** The DAG as a tree from its sources; a dataset reached again is named, not repeated. */
function textTree(lineage: Lineage): string {
  const children = new Map<string, string[]>();
  const hasInputs = new Set<string>();
  // previous(): a dataset reading its own previous partition is said on its line, not drawn as its own child.
  const selfReading = new Set<string>();
  for (const edge of lineage.edges) {
    if (edge.from === edge.to) {
      selfReading.add(edge.from);
      continue;
    }
    children.set(edge.from, [...(children.get(edge.from) ?? []), edge.to]);
    hasInputs.add(edge.to);
  }
  const nodes = new Map(lineage.nodes.map((n) => [n.name, n]));
  const printed = new Set<string>();
  const lines: string[] = [];
  const visit = (name: string, prefix: string, connector: string, childPrefix: string) => {
    const node = nodes.get(name)!;
    if (printed.has(name)) {
      lines.push(`${prefix}${connector}${name} (see above)`);
      return;
    }
    printed.add(name);
    lines.push(`${prefix}${connector}${name}  [${node.kind === "source" ? "source, " : ""}${node.partitions}${selfReading.has(name) ? ", reads its previous partition" : ""}]`);
    const next = children.get(name) ?? [];
    next.forEach((child, i) => {
      const last = i === next.length - 1;
      visit(child, prefix + childPrefix, last ? "└── " : "├── ", last ? "    " : "│   ");
    });
  };
  for (const node of lineage.nodes) if (!hasInputs.has(node.name)) visit(node.name, "", "", "");
  return `${lines.join("\n")}\n`;
}
