import type { ts } from "ts-morph";
import { canonicalUnit, type FileScope } from "./canonical-unit.js";
import type { CallSite, CodeUnit, ExportBinding, FileSummary, ImportBinding, Position, RootCall, Statement } from "./file-summary.js";
import { loadTsMorph } from "./load-ts-morph.js";

/** The options properties that hold a declaration's code: `transform` or `sql` for datasets, `read` for sources, `path` for file sources. */
const RUN_PROPERTIES: readonly string[] = ["transform", "read", "sql", "path"];

/**
 * The summary of one parsed file: its top-level declarations as canonical
 * units, its imports and exports, and its dataset()/source() call sites.
 * Names are bound with the checker, which only looks at this file.
 */
export function summarizeFile(sourceFile: ts.SourceFile, checker: ts.TypeChecker, contentHash: string): FileSummary {
  const { ts } = loadTsMorph();
  const unitNodes = new Map<string, ts.Node[]>();
  const topLevel = new Map<ts.Node, string>();
  const importNodes = new Map<ts.Node, { local: string; namespace: boolean }>();
  const imports: ImportBinding[] = [];
  const exports = new Map<string, ExportBinding>();
  const starExports: string[] = [];

  const declare = (name: string, declaration: ts.Node, unit: ts.Node): void => {
    topLevel.set(declaration, name);
    const nodes = unitNodes.get(name) ?? [];
    if (!nodes.includes(unit)) nodes.push(unit);
    unitNodes.set(name, nodes);
  };
  const bindImport = (node: ts.Node, local: string, specifier: string, imported: string): void => {
    importNodes.set(node, { local, namespace: imported === "*" });
    imports.push({ local, specifier, imported });
  };

  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (!ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const specifier = statement.moduleSpecifier.text;
      const clause = statement.importClause;
      if (clause?.name) bindImport(clause, clause.name.text, specifier, "default");
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) bindImport(bindings, bindings.name.text, specifier, "*");
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) bindImport(element, element.name.text, specifier, (element.propertyName ?? element.name).text);
      }
    } else if (ts.isImportEqualsDeclaration(statement)) {
      const reference = statement.moduleReference;
      if (ts.isExternalModuleReference(reference) && ts.isStringLiteral(reference.expression)) {
        bindImport(statement, statement.name.text, reference.expression.text, "*");
      } else {
        declare(statement.name.text, statement, statement);
      }
    } else if (ts.isExportDeclaration(statement)) {
      const specifier = statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : undefined;
      const clause = statement.exportClause;
      if (!clause) {
        if (specifier !== undefined) starExports.push(specifier);
      } else if (ts.isNamespaceExport(clause)) {
        if (specifier !== undefined) exports.set(clause.name.text, { exported: clause.name.text, specifier, imported: "*" });
      } else {
        for (const element of clause.elements) {
          const exported = element.name.text;
          const original = (element.propertyName ?? element.name).text;
          exports.set(exported, specifier === undefined ? { exported, local: original } : { exported, specifier, imported: original });
        }
      }
    } else if (ts.isExportAssignment(statement)) {
      declare("default", statement, statement);
      exports.set("default", { exported: "default", local: "default" });
    } else if (ts.isVariableStatement(statement)) {
      const exported = hasModifier(statement, ts.SyntaxKind.ExportKeyword);
      for (const declaration of statement.declarationList.declarations) {
        for (const [name, node] of boundNames(declaration)) {
          declare(name, node, declaration);
          if (exported) exports.set(name, { exported: name, local: name });
        }
      }
    } else if (isNamedDeclaration(statement)) {
      const name = statement.name && ts.isIdentifier(statement.name) ? statement.name.text : "default";
      if (ts.isModuleDeclaration(statement) && name === "default") continue; // `declare module "x"` declares nothing here
      declare(name, statement, statement);
      if (hasModifier(statement, ts.SyntaxKind.ExportKeyword)) {
        const exported = hasModifier(statement, ts.SyntaxKind.DefaultKeyword) ? "default" : name;
        exports.set(exported, { exported, local: name });
      }
    }
  }

  const scope: FileScope = { checker, sourceFile, topLevel, imports: importNodes };
  const containersOf = (node: ts.Node): string[] =>
    [...unitNodes]
      .filter(([, nodes]) => nodes.some((unit) => unit.pos <= node.pos && node.end <= unit.end))
      .map(([name]) => name)
      .sort();
  const callSites: CallSite[] = [];
  const statements: Statement[] = [];
  const rootCalls: RootCall[] = [];
  // `inFunction`: under a function-like node; `rootCall`: under an outermost call outside functions.
  const visit = (node: ts.Node, statement: number, inFunction: boolean, rootCall: boolean, inLoop: boolean): void => {
    if (ts.isCallExpression(node)) {
      const site = callSite(node, sourceFile, scope, containersOf);
      if (site) callSites.push(inFunction ? { ...site, insideFunction: true } : site);
      if (!inFunction && !rootCall) {
        // A top-level dataset() call is never a factory's caller (its statement covers the odd case): not worth a unit.
        if (!site) {
          const unit = canonicalUnit([node], scope);
          rootCalls.push({ ...unit, ...range(node, sourceFile), open: inLoop || unit.enclosed === true, statement });
        }
        rootCall = true;
      }
    }
    const loop = ts.isIterationStatement(node, false);
    ts.forEachChild(node, (child) => visit(child, statement, inFunction || ts.isFunctionLike(node), rootCall, inLoop || loop));
  };
  const declarations = [...unitNodes].map(([name, nodes]) => ({ name, line: lineOf(nodes[0]!, sourceFile), ...canonicalUnit(nodes, scope) }));
  for (const statement of sourceFile.statements) {
    if (ts.isImportDeclaration(statement)) continue;
    const names = [...new Set([...unitNodes].filter(([, nodes]) => nodes.some((unit) => statement.pos <= unit.pos && unit.end <= statement.end)).map(([name]) => name))];
    // A statement that is all of one declaration is that declaration's unit: most statements, analysed once.
    const only = names.length === 1 ? unitNodes.get(names[0]!)! : [];
    const whole = only.length === 1 && (only[0] === statement || (ts.isVariableStatement(statement) && statement.declarationList.declarations.length === 1));
    const place = { ...range(statement, sourceFile), ...(names.length > 0 ? { name: names.join(", ") } : {}) };
    statements.push(whole ? { ...place, declaration: names[0]! } : { ...place, ...canonicalUnit([statement], scope) });
    visit(statement, statements.length - 1, false, false, false);
  }

  return {
    contentHash,
    declarations,
    imports,
    exports: [...exports.values()],
    starExports,
    callSites,
    statements,
    rootCalls,
  };
}

function range(node: ts.Node, sourceFile: ts.SourceFile): { start: Position; end: Position } {
  const position = (offset: number): Position => {
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(offset);
    return { line: line + 1, column: character + 1 };
  };
  return { start: position(node.getStart(sourceFile)), end: position(node.end) };
}

function callSite(
  call: ts.CallExpression,
  sourceFile: ts.SourceFile,
  scope: FileScope,
  containersOf: (node: ts.Node) => string[],
): CallSite | undefined {
  const { ts } = loadTsMorph();
  const [first, options] = call.arguments;
  if (!options || !ts.isObjectLiteralExpression(options)) return undefined;
  const properties: Record<string, CodeUnit> = {};
  const propertyLines: Record<string, number> = {};
  for (const property of options.properties) {
    const name = property.name && (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name)) ? property.name.text : undefined;
    if (name === undefined || !RUN_PROPERTIES.includes(name)) continue;
    propertyLines[name] = lineOf(property, sourceFile);
    if (ts.isPropertyAssignment(property)) properties[name] = canonicalUnit([property.initializer], scope);
    else if (ts.isShorthandPropertyAssignment(property)) properties[name] = canonicalUnit([property.name], scope);
    else if (ts.isMethodDeclaration(property)) properties[name] = canonicalUnit([property], scope);
  }
  if (Object.keys(properties).length === 0) return undefined;
  // Stack traces point at the called name: `dataset` in both `dataset(…)` and `core.dataset(…)`.
  const callee = ts.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression;
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(callee.getStart(sourceFile));
  return {
    line: line + 1,
    column: character + 1,
    ...(first && ts.isStringLiteralLike(first) ? { firstArgument: first.text } : {}),
    containers: containersOf(call),
    properties,
    propertyLines,
  };
}

type NamedDeclaration =
  | ts.FunctionDeclaration
  | ts.ClassDeclaration
  | ts.EnumDeclaration
  | ts.InterfaceDeclaration
  | ts.TypeAliasDeclaration
  | ts.ModuleDeclaration;

function isNamedDeclaration(statement: ts.Statement): statement is NamedDeclaration {
  const { ts } = loadTsMorph();
  return (
    ts.isFunctionDeclaration(statement) ||
    ts.isClassDeclaration(statement) ||
    ts.isEnumDeclaration(statement) ||
    ts.isInterfaceDeclaration(statement) ||
    ts.isTypeAliasDeclaration(statement) ||
    ts.isModuleDeclaration(statement)
  );
}

/** Each name a declarator binds, with the node its symbol is declared by. */
function boundNames(declaration: ts.VariableDeclaration): [string, ts.Node][] {
  const { ts } = loadTsMorph();
  if (ts.isIdentifier(declaration.name)) return [[declaration.name.text, declaration]];
  const names: [string, ts.Node][] = [];
  const collect = (pattern: ts.BindingPattern): void => {
    for (const element of pattern.elements) {
      if (ts.isOmittedExpression(element)) continue;
      if (ts.isIdentifier(element.name)) names.push([element.name.text, element]);
      else collect(element.name);
    }
  };
  collect(declaration.name);
  return names;
}

function hasModifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  const { ts } = loadTsMorph();
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((modifier) => modifier.kind === kind);
}

function lineOf(node: ts.Node, sourceFile: ts.SourceFile): number {
  return sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
}
