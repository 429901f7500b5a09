import { alg, Graph } from "@dagrejs/graphlib";
import { formatLocation, ReflowError, type DatasetDeclaration } from "@reflow/core";

/** The lineage DAG: a node per dataset, an edge from each input to its reader (but not a dataset's previous() of itself). */
export function buildLineageGraph(declarations: readonly DatasetDeclaration[]): Graph {
  const graph = new Graph({ directed: true });
  const byName = new Map<string, DatasetDeclaration>();
  for (const declaration of declarations) {
    const previous = byName.get(declaration.name);
    if (previous) {
      throw new ReflowError(
        "REFLOW_DUPLICATE_NAME",
        `${where(declaration)}dataset "${declaration.name}" is declared twice: first at ${formatLocation(previous.definedAt) || "an unknown place"}, again at ${formatLocation(declaration.definedAt) || "an unknown place"}`,
        { subject: declaration.name, ...(declaration.definedAt ? { location: declaration.definedAt } : {}) },
      );
    }
    byName.set(declaration.name, declaration);
    graph.setNode(declaration.name);
  }
  for (const declaration of declarations) {
    for (const input of declaration.inputs) {
      if (!byName.has(input.dataset)) {
        const known = [...byName.keys()].sort();
        const suggestion = closest(input.dataset, known);
        throw new ReflowError(
          "REFLOW_UNKNOWN_INPUT",
          `${where(declaration)}dataset "${declaration.name}": input "${input.alias}" refers to unknown dataset "${input.dataset}"${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`,
          { subject: declaration.name, ...(declaration.definedAt ? { location: declaration.definedAt } : {}) },
        );
      }
      // previous() reads strictly earlier partitions of the dataset itself: no cycle, and
      // no edge, so the DAG stays acyclic; any other self-read is a cycle like any other.
      if (input.dataset === declaration.name && input.mapping?.kind === "previous") continue;
      graph.setEdge(input.dataset, declaration.name);
    }
  }
  const cycle = findCycle(graph);
  if (cycle) {
    const first = byName.get(cycle[0]!)!;
    const places = cycle.slice(0, -1).map((name) => `  ${name} (${formatLocation(byName.get(name)!.definedAt) || "unknown place"})`);
    throw new ReflowError("REFLOW_CYCLE", `${where(first)}datasets form a cycle: ${cycle.join(" → ")}\n${places.join("\n")}`, {
      subject: cycle[0]!,
      ...(first.definedAt ? { location: first.definedAt } : {}),
    });
  }
  return graph;
}

/** Dataset names so that every input comes before its readers; ties broken by name for stable output. */
export function topologicalOrder(graph: Graph): string[] {
  const indegree = new Map(graph.nodes().map((n) => [n, graph.predecessors(n)?.length ?? 0]));
  const ready = [...indegree].filter(([, d]) => d === 0).map(([n]) => n).sort();
  const order: string[] = [];
  while (ready.length > 0) {
    const next = ready.shift()!;
    order.push(next);
    for (const successor of (graph.successors(next) ?? []).sort()) {
      const remaining = indegree.get(successor)! - 1;
      indegree.set(successor, remaining);
      if (remaining === 0) insertSorted(ready, successor);
    }
  }
  return order;
}

/** One cycle as a closed path (first name repeated at the end), or undefined. */
function findCycle(graph: Graph): string[] | undefined {
  const components = alg.findCycles(graph);
  if (components.length === 0) return undefined;
  const component = new Set(components.map((c) => [...c].sort()).sort()[0]!);
  const start = [...component].sort()[0]!;
  const pathStack = [start];
  const seen = new Set([start]);
  const walk = (node: string): string[] | undefined => {
    for (const next of (graph.successors(node) ?? []).filter((n) => component.has(n)).sort()) {
      if (next === start) return [...pathStack, start];
      if (seen.has(next)) continue;
      seen.add(next);
      pathStack.push(next);
      const found = walk(next);
      if (found) return found;
      pathStack.pop();
    }
    return undefined;
  };
  return walk(start) ?? [start, start];
}

function insertSorted(list: string[], value: string): void {
  let i = 0;
  while (i < list.length && list[i]! < value) i++;
  list.splice(i, 0, value);
}

function where(declaration: DatasetDeclaration): string {
  return declaration.definedAt ? `${formatLocation(declaration.definedAt)}: ` : "";
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

