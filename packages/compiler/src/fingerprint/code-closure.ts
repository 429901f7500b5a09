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
  const declarations: { file: string; declaration: Declaration }[] = [];
  const tokens = new Set<string>();
  const packages = new Map<string, { name: string; version: string }>();
  const seen = new Set<string>();
  const firstVisit = (key: string): boolean => {
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const fileOf = (file: string): LinkedFile => link(env.summaryOf(file));

  const words = new Set<string>();
  function visitUnit(file: string, unit: CodeUnit): void {
    for (const word of unit.words ?? []) words.add(word);
    for (const reference of unit.references) {
      if ("module" in reference) visitImport(file, reference.module, "*");
      else visitName(file, reference.name, reference.member);
    }
  }

  function visitName(file: string, name: string, member?: string): void {
    const linkedFile = fileOf(file);
    const declaration = linkedFile.declarations.get(name);
    if (declaration) return visitDeclaration(file, declaration);
    const binding = linkedFile.imports.get(name);
    if (binding) visitImport(file, binding.specifier, binding.imported, member);
  }

  function visitDeclaration(file: string, declaration: Declaration): void {
    if (!firstVisit(`declaration ${file}#${declaration.name}`)) return;
    if (env.opaque.has(`${file}#${declaration.name}`)) {
      tokens.add(`dataset:${declaration.name}`);
      return;
    }
    declarations.push({ file, declaration });
    visitUnit(file, declaration);
  }

  function visitImport(from: string, specifier: string, imported: string, member?: string): void {
    const target = env.resolve(from, specifier);
    switch (target.kind) {
      case "builtin":
        tokens.add(`node:${target.name}`);
        return;
      case "package": {
        const version = env.packageVersion(from, target.name);
        packages.set(`${target.name}@${version}`, { name: target.name, version });
        return;
      }
      case "missing":
        tokens.add(`missing:${env.relative(from)}:${specifier}`);
        return;
      case "file":
        if (imported !== "*") visitExport(target.file, imported, member);
        else if (member !== undefined) visitExport(target.file, member);
        else visitAllExports(target.file, true);
    }
  }

  function visitExport(file: string, exported: string, member?: string): void {
    if (!firstVisit(`export ${file}#${exported}.${member ?? ""}`)) return;
    const linkedFile = fileOf(file);
    const binding = linkedFile.exports.get(exported);
    if (binding) {
      if ("local" in binding) visitName(file, binding.local, member);
      else visitImport(file, binding.specifier, binding.imported, member);
      return;
    }
    // `export *` never re-exports a default, and a name comes from whichever star module has it.
    const stars = exported === "default" ? [] : linkedFile.summary.starExports;
    const providers = stars.filter((specifier) => provides(file, specifier, exported, new Set()));
    // A package's exports are unknown: if no project module has the name, any star package may.
    const candidates = providers.length > 0 ? providers : stars.filter((specifier) => env.resolve(file, specifier).kind !== "file");
    for (const specifier of candidates) visitImport(file, specifier, exported, member);
    if (candidates.length === 0) tokens.add(`missing:${env.relative(file)}#${exported}`);
  }

  function provides(from: string, specifier: string, name: string, visited: Set<string>): boolean {
    const target = env.resolve(from, specifier);
    if (target.kind !== "file" || visited.has(target.file)) return false;
    visited.add(target.file);
    const linkedFile = fileOf(target.file);
    return linkedFile.exports.has(name) || linkedFile.summary.starExports.some((star) => provides(target.file, star, name, visited));
  }

  function visitAllExports(file: string, withDefault: boolean): void {
    if (!firstVisit(`all ${file} ${withDefault}`)) return;
    const summary = fileOf(file).summary;
    for (const binding of summary.exports) if (withDefault || binding.exported !== "default") visitExport(file, binding.exported);
    for (const specifier of summary.starExports) {
      const target = env.resolve(file, specifier);
      if (target.kind === "file") visitAllExports(target.file, false);
      else visitImport(file, specifier, "*");
    }
  }

  for (const part of extra) {
    if (!firstVisit(`declaration ${part.file}#${part.declaration.name}`)) continue;
    declarations.push(part);
    visitUnit(part.file, part.declaration);
  }
  visitUnit(file, unit);
  return { declarations, tokens, packages, words };
}
