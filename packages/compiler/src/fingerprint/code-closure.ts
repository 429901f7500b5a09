import type { CodeUnit, Declaration, ExportBinding, FileSummary, ImportBinding } from "./file-summary.js";
import type { ModuleTarget } from "./resolve-module.js";

/** What the closure walk needs from its caller; every function may be memoised there. */
export interface ClosureEnvironment {
  /** The summary of a project file; throws if the file cannot be read or parsed. */
  summaryOf(file: string): FileSummary;
  resolve(fromFile: string, specifier: string): ModuleTarget;
  packageVersion(fromFile: string, name: string): string;
  /** `file` relative to the project, for tokens that must not depend on where the project lies. */
  relative(file: string): string;
  /** `file#name` of declarations that hold a dataset declaration: they count by name only. */
  readonly opaque: ReadonlySet<string>;
}

/** Everything a unit's behaviour depends on, as far as the source shows. */
export interface CodeClosure {
  readonly declarations: readonly { readonly file: string; readonly declaration: Declaration }[];
  /** Opaque datasets (`dataset:<name>`), Node builtins (`node:<name>`), and names that lead nowhere (`missing:…`). */
  readonly tokens: ReadonlySet<string>;
  /** npm packages by `name@version`. */
  readonly packages: ReadonlyMap<string, { readonly name: string; readonly version: string }>;
  /** The words (identifiers, literal texts) of the unit and every declaration reached. */
  readonly words: ReadonlySet<string>;
}

interface LinkedFile {
  readonly summary: FileSummary;
  readonly declarations: ReadonlyMap<string, Declaration>;
  readonly imports: ReadonlyMap<string, ImportBinding>;
  readonly exports: ReadonlyMap<string, ExportBinding>;
}

const linked = new WeakMap<FileSummary, LinkedFile>();

function link(summary: FileSummary): LinkedFile {
  let file = linked.get(summary);
  if (!file) {
    file = {
      summary,
      declarations: new Map(summary.declarations.map((declaration) => [declaration.name, declaration])),
      imports: new Map(summary.imports.map((binding) => [binding.local, binding])),
      exports: new Map(summary.exports.map((binding) => [binding.exported, binding])),
    };
    linked.set(summary, file);
  }
  return file;
}

/**
 * Walks from `unit` (code in `file`) through the top-level declarations it
 * uses, across imports and re-exports, collecting every declaration, package
 * and builtin reached. Namespace imports used as `ns.member` reach only that member.
 */
export function collectClosure(
  file: string,
  unit: CodeUnit,
  env: ClosureEnvironment,
  /** Code fingerprinted with the unit whatever holds it: a factory and the call that made the dataset. */
  extra: readonly { readonly file: string; readonly declaration: Declaration }[] = [],
): CodeClosure {
  const walk = new ClosureWalk(env);
  for (const part of extra) {
    if (!walk.firstVisit(`declaration ${part.file}#${part.declaration.name}`)) continue;
    walk.declarations.push(part);
    walk.visitUnit(part.file, part.declaration);
  }
  walk.visitUnit(file, unit);
  const { declarations, tokens, packages, words } = walk;
  return { declarations, tokens, packages, words };
}

/**
 * One closure's walk. Methods rather than functions made per call: the CLI's
 * bundle keeps function names, which costs a property definition for each
 * function made, a thousand calls' worth per plan.
 */
class ClosureWalk {
  readonly declarations: { file: string; declaration: Declaration }[] = [];
  readonly tokens = new Set<string>();
  readonly packages = new Map<string, { name: string; version: string }>();
  readonly words = new Set<string>();
  private readonly seen = new Set<string>();

  constructor(private readonly env: ClosureEnvironment) {}

  firstVisit(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    return true;
  }

  private fileOf(file: string): LinkedFile {
    return link(this.env.summaryOf(file));
  }

  visitUnit(file: string, unit: CodeUnit): void {
    for (const word of unit.words ?? []) this.words.add(word);
    for (const reference of unit.references) {
      if ("module" in reference) this.visitImport(file, reference.module, "*");
      else this.visitName(file, reference.name, reference.member);
    }
  }

  private visitName(file: string, name: string, member?: string): void {
    const linkedFile = this.fileOf(file);
    const declaration = linkedFile.declarations.get(name);
    if (declaration) return this.visitDeclaration(file, declaration);
    const binding = linkedFile.imports.get(name);
    if (binding) this.visitImport(file, binding.specifier, binding.imported, member);
  }

  private visitDeclaration(file: string, declaration: Declaration): void {
    if (!this.firstVisit(`declaration ${file}#${declaration.name}`)) return;
    if (this.env.opaque.has(`${file}#${declaration.name}`)) {
      this.tokens.add(`dataset:${declaration.name}`);
      return;
    }
    this.declarations.push({ file, declaration });
    this.visitUnit(file, declaration);
  }

  private visitImport(from: string, specifier: string, imported: string, member?: string): void {
    const target = this.env.resolve(from, specifier);
    switch (target.kind) {
      case "builtin":
        this.tokens.add(`node:${target.name}`);
        return;
      case "package": {
        const version = this.env.packageVersion(from, target.name);
        this.packages.set(`${target.name}@${version}`, { name: target.name, version });
        return;
      }
      case "missing":
        this.tokens.add(`missing:${this.env.relative(from)}:${specifier}`);
        return;
      case "file":
        if (imported !== "*") this.visitExport(target.file, imported, member);
        else if (member !== undefined) this.visitExport(target.file, member);
        else this.visitAllExports(target.file, true);
    }
  }

  private visitExport(file: string, exported: string, member?: string): void {
    if (!this.firstVisit(`export ${file}#${exported}.${member ?? ""}`)) return;
    const linkedFile = this.fileOf(file);
    const binding = linkedFile.exports.get(exported);
    if (binding) {
      if ("local" in binding) this.visitName(file, binding.local, member);
      else this.visitImport(file, binding.specifier, binding.imported, member);
      return;
    }
    // `export *` never re-exports a default, and a name comes from whichever star module has it.
    const stars = exported === "default" ? [] : linkedFile.summary.starExports;
    const providers = stars.filter((specifier) => this.provides(file, specifier, exported, new Set()));
    // A package's exports are unknown: if no project module has the name, any star package may.
    const candidates = providers.length > 0 ? providers : stars.filter((specifier) => this.env.resolve(file, specifier).kind !== "file");
    for (const specifier of candidates) this.visitImport(file, specifier, exported, member);
    if (candidates.length === 0) this.tokens.add(`missing:${this.env.relative(file)}#${exported}`);
  }

  private provides(from: string, specifier: string, name: string, visited: Set<string>): boolean {
    const target = this.env.resolve(from, specifier);
    if (target.kind !== "file" || visited.has(target.file)) return false;
    visited.add(target.file);
    const linkedFile = this.fileOf(target.file);
    return linkedFile.exports.has(name) || linkedFile.summary.starExports.some((star) => this.provides(target.file, star, name, visited));
  }

  private visitAllExports(file: string, withDefault: boolean): void {
    if (!this.firstVisit(`all ${file} ${withDefault}`)) return;
    const summary = this.fileOf(file).summary;
    for (const binding of summary.exports) if (withDefault || binding.exported !== "default") this.visitExport(file, binding.exported);
    for (const specifier of summary.starExports) {
      const target = this.env.resolve(file, specifier);
      if (target.kind === "file") this.visitAllExports(target.file, false);
      else this.visitImport(file, specifier, "*");
    }
  }
}
