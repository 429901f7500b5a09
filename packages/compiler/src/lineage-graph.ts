import { Graph } from "@dagrejs/graphlib";
import { formatLocation, ReflowError, type DatasetDeclaration } from "@reflow/core";

/**
 * The lineage DAG: a node per dataset, an edge from each input to its reader (but not a dataset's
 * previous() of itself). Plain maps: graphlib's takes ~0.1 s for a thousand datasets on a warm
 * plan, which only reads it to order them; `graphlib()` gives graphlib's, made when asked.
 */
export interface LineageGraph {
  /** Dataset names, as declared. */
  readonly nodes: readonly string[];
  /** Each dataset's readers, in the order their edges were added. */
  readonly successors: ReadonlyMap<string, ReadonlySet<string>>;
  /** Each dataset's inputs, in the order their edges were added. */
  readonly predecessors: ReadonlyMap<string, ReadonlySet<string>>;
  /** Every edge once, `[input, reader]`, in the order added. */
  readonly edges: readonly (readonly [string, string])[];
}

/** The lineage DAG of the declarations; throws on a duplicate name, an unknown input or a cycle. */
export function buildLineageGraph(declarations: readonly DatasetDeclaration[]): LineageGraph {
  const byName = new Map<string, DatasetDeclaration>();
  const successors = new Map<string, Set<string>>();
  const predecessors = new Map<string, Set<string>>();
  const edges: [string, string][] = [];
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
    successors.set(declaration.name, new Set());
    predecessors.set(declaration.name, new Set());
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
      const readers = successors.get(input.dataset)!;
      if (readers.has(declaration.name)) continue;
      readers.add(declaration.name);
      predecessors.get(declaration.name)!.add(input.dataset);
      edges.push([input.dataset, declaration.name]);
    }
  }
  const graph: LineageGraph = { nodes: [...byName.keys()], successors, predecessors, edges };
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

/** The lineage as a graphlib `Graph`, with the nodes and edges added in the same order. */
export function graphlib(lineage: LineageGraph): Graph {
  const graph = new Graph({ directed: true });
  for (const node of lineage.nodes) graph.setNode(node);
  for (const [input, reader] of lineage.edges) graph.setEdge(input, reader);
  return graph;
}

/** Dataset names so that every input comes before its readers; ties broken by name for stable output. */
export function topologicalOrder(graph: LineageGraph): string[] {
  const indegree = new Map(graph.nodes.map((n) => [n, graph.predecessors.get(n)!.size]));
  const ready = [...indegree].filter(([, d]) => d === 0).map(([n]) => n).sort();
  const order: string[] = [];
  // A queue read from `next` on, not shifted: a thousand datasets become ready one by one.
  for (let next = 0; next < ready.length; next++) {
    const name = ready[next]!;
    order.push(name);
    for (const successor of [...graph.successors.get(name)!].sort()) {
      const remaining = indegree.get(successor)! - 1;
      indegree.set(successor, remaining);
      if (remaining === 0) insertSorted(ready, successor, next + 1);
    }
  }
  return order;
}

/** One cycle as a closed path (first name repeated at the end), or undefined. */
function findCycle(graph: LineageGraph): string[] | undefined {
  if (acyclic(graph)) return undefined;
  const components = stronglyConnected(graph).filter((c) => c.length > 1 || graph.successors.get(c[0]!)!.has(c[0]!));
  if (components.length === 0) return undefined;
  const component = new Set(components.map((c) => [...c].sort()).sort()[0]!);
  const start = [...component].sort()[0]!;
  // Depth first from `start`, successors by name, back to `start`: the path, each node with what is left to try.
  const nextOf = (node: string) => [...graph.successors.get(node)!].filter((n) => component.has(n)).sort().values();
  const path = [{ node: start, next: nextOf(start) }];
  const seen = new Set([start]);
  while (path.length > 0) {
    const step = path.at(-1)!.next.next();
    if (step.done) {
      path.pop();
      continue;
    }
    if (step.value === start) return [...path.map((p) => p.node), start];
    if (seen.has(step.value)) continue;
    seen.add(step.value);
    path.push({ node: step.value, next: nextOf(step.value) });
  }
  return [start, start];
}

/** Whether every dataset can be ordered after its inputs (Kahn's algorithm): the usual case, checked before looking for a cycle. */
function acyclic(graph: LineageGraph): boolean {
  const indegree = new Map<string, number>();
  const ready: string[] = [];
  for (const node of graph.nodes) {
    const inputs = graph.predecessors.get(node)!.size;
    indegree.set(node, inputs);
    if (inputs === 0) ready.push(node);
  }
  let ordered = 0;
  while (ready.length > 0) {
    ordered++;
    for (const reader of graph.successors.get(ready.pop()!)!) {
      const remaining = indegree.get(reader)! - 1;
      indegree.set(reader, remaining);
      if (remaining === 0) ready.push(reader);
    }
  }
  return ordered === graph.nodes.length;
}

/** Tarjan's strongly connected components (graphlib's `alg.tarjan`), without recursion: a long chain of datasets must not overflow the stack. */
function stronglyConnected(graph: LineageGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const root of graph.nodes) {
    if (index.has(root)) continue;
    const frames: { node: string; next: Iterator<string> }[] = [];
    const enter = (node: string): void => {
      index.set(node, index.size);
      low.set(node, index.get(node)!);
      stack.push(node);
      onStack.add(node);
      frames.push({ node, next: graph.successors.get(node)!.values() });
    };
    enter(root);
    while (frames.length > 0) {
      const frame = frames.at(-1)!;
      const step = frame.next.next();
      if (!step.done) {
        const successor = step.value;
        if (!index.has(successor)) enter(successor);
        else if (onStack.has(successor)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(successor)!));
        continue;
      }
      frames.pop();
      const parent = frames.at(-1);
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** Inserts `value` into `list`, sorted from `from` on, before the first item not less than it. */
function insertSorted(list: string[], value: string, from: number): void {
  let low = from;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (list[middle]! < value) low = middle + 1;
    else high = middle;
  }
  list.splice(low, 0, value);
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

