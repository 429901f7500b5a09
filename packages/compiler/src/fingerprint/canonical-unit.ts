import type { ts } from "ts-morph";
import type { CodeUnit, EnvRead, UnitReference } from "./file-summary.js";
import { loadTsMorph } from "./load-ts-morph.js";
import { sha256 } from "../sha256.js";

/** How names resolve in one file; shared by all of its units. */
export interface FileScope {
  readonly checker: ts.TypeChecker;
  readonly sourceFile: ts.SourceFile;
  /** Declaration nodes of the file's top-level declarations → declaration name. */
  readonly topLevel: ReadonlyMap<ts.Node, string>;
  /** Import declaration nodes (specifier, clause, namespace import) → local name. */
  readonly imports: ReadonlyMap<ts.Node, { readonly local: string; readonly namespace: boolean }>;
}

interface SyntaxTables {
  /** Kind names without the First and Last aliases, which TypeScript moves between releases. */
  readonly kindNames: readonly string[];
  /** Elements of node lists that only formatting or export status puts there. */
  readonly skippedElements: ReadonlySet<ts.SyntaxKind>;
  /** Parents whose `name` child is a property key, not a binding. */
  readonly keyedByName: ReadonlySet<ts.SyntaxKind>;
}

let tables: SyntaxTables | undefined;

function syntaxTables(): SyntaxTables {
  if (tables) return tables;
  const { ts } = loadTsMorph();
  const SK = ts.SyntaxKind;
  const kindNames: string[] = [];
  for (const [name, kind] of Object.entries(SK)) {
    if (typeof kind === "number" && !/^(First|Last)/.test(name)) kindNames[kind] ??= name;
  }
  tables = {
    kindNames,
    skippedElements: new Set([SK.EmptyStatement, SK.SemicolonClassElement, SK.ExportKeyword, SK.DefaultKeyword]),
    keyedByName: new Set([
      SK.PropertyAssignment,
      SK.PropertyDeclaration,
      SK.PropertySignature,
      SK.MethodDeclaration,
      SK.MethodSignature,
      SK.GetAccessor,
      SK.SetAccessor,
      SK.EnumMember,
      SK.PropertyAccessExpression,
      SK.JsxAttribute,
      SK.MetaProperty,
      SK.NamedTupleMember,
      SK.ImportAttribute,
    ]),
  };
  return tables;
}

/**
 * The canonical form of some code and the names it uses. The form is the
 * syntax tree (kinds, children, and the data that changes behaviour), so
 * comments and formatting do not count; bindings declared inside the nodes are
 * numbered by first appearance, so renaming them does not count either.
 */
export function canonicalUnit(nodes: readonly ts.Node[], scope: FileScope): CodeUnit {
  const { ts } = loadTsMorph();
  const SK = ts.SyntaxKind;
  const { skippedElements } = syntaxTables();
  const out: string[] = [];
  const locals = new Map<ts.Symbol, number>();
  const references = new Map<string, UnitReference>();
  const words = new Set<string>();
  const env = new Map<string, EnvRead>();
  let enclosed = false;

  const reference = (target: UnitReference): void => {
    references.set(JSON.stringify(target), target);
  };
  const isInside = (node: ts.Node): boolean =>
    node.getSourceFile() === scope.sourceFile && nodes.some((unit) => node.pos >= unit.pos && node.end <= unit.end);

  const bindingToken = (id: ts.Identifier, symbol: ts.Symbol | undefined): string => {
    const declarations = symbol?.declarations ?? [];
    for (const declaration of declarations) {
      const name = scope.topLevel.get(declaration);
      if (name !== undefined) {
        reference({ name });
        return `@${name}`;
      }
      const binding = scope.imports.get(declaration);
      if (binding) {
        reference(binding.namespace ? namespaceUse(id, binding.local) : { name: binding.local });
        return `@${binding.local}`;
      }
    }
    if (symbol && declarations.some(isInside)) {
      let index = locals.get(symbol);
      if (index === undefined) locals.set(symbol, (index = locals.size));
      return `$${index}`;
    }
    // A global, an unresolved name, or one bound by an enclosing function.
    if (declarations.length > 0) enclosed = true;
    return `~${id.text}`;
  };

  const identifier = (id: ts.Identifier): string => {
    if (isKey(id)) return key(id.text);
    const parent = id.parent;
    const symbol =
      ts.isShorthandPropertyAssignment(parent) && parent.name === id
        ? scope.checker.getShorthandAssignmentValueSymbol(parent)
        : scope.checker.getSymbolAtLocation(id);
    return bindingToken(id, symbol);
  };

  const list = (elements: ts.NodeArray<ts.Node>): void => {
    out.push("[");
    for (const element of elements) if (!skippedElements.has(element.kind)) visit(element);
    out.push("]");
  };
  // A child that may be absent where a sibling of the same kind may stand.
  const slot = (node: ts.Node | undefined): void => {
    if (node) visit(node);
    else out.push("_");
  };
  const generic = (node: ts.Node, data?: string): void => {
    out.push(data === undefined ? `(${kindName(node.kind)}` : `(${kindName(node.kind)} ${data}`);
    ts.forEachChild(node, visit, list);
    out.push(")");
  };

  function visit(node: ts.Node): void {
    switch (node.kind) {
      case SK.ParenthesizedExpression:
        return visit((node as ts.ParenthesizedExpression).expression);
      case SK.ParenthesizedType:
        return visit((node as ts.ParenthesizedTypeNode).type);
      case SK.Identifier:
        words.add((node as ts.Identifier).text);
        out.push(identifier(node as ts.Identifier));
        return;
      case SK.PrivateIdentifier:
        out.push(key((node as ts.PrivateIdentifier).text));
        return;
      case SK.StringLiteral:
        words.add((node as ts.StringLiteral).text);
        out.push(isKey(node) ? key((node as ts.StringLiteral).text) : JSON.stringify((node as ts.StringLiteral).text));
        return;
      case SK.NumericLiteral: {
        const value = String(Number((node as ts.NumericLiteral).text));
        out.push(isKey(node) ? key(value) : `n${value}`);
        return;
      }
      case SK.BigIntLiteral:
        out.push(`n${BigInt((node as ts.BigIntLiteral).text.slice(0, -1))}n`);
        return;
      case SK.RegularExpressionLiteral:
        out.push(`r${JSON.stringify((node as ts.RegularExpressionLiteral).text)}`);
        return;
      case SK.NoSubstitutionTemplateLiteral:
      case SK.TemplateHead:
      case SK.TemplateMiddle:
      case SK.TemplateTail: {
        const part = node as ts.TemplateLiteralLikeNode;
        words.add(part.text);
        out.push(`t${JSON.stringify(part.rawText ?? part.text)}`);
        return;
      }
      case SK.JsxText: {
        const text = node as ts.JsxText;
        // Whitespace-only JSX text between tags is layout, which JSX drops.
        if (!text.containsOnlyTriviaWhiteSpaces) out.push(`x${JSON.stringify(text.text.replace(/\s*\n\s*/g, " "))}`);
        return;
      }
      case SK.ShorthandPropertyAssignment:
        return shorthandProperty(node as ts.ShorthandPropertyAssignment);
      case SK.BindingElement:
        return bindingElement(node as ts.BindingElement);
      case SK.ForStatement: {
        const loop = node as ts.ForStatement;
        out.push(`(${kindName(node.kind)}`);
        slot(loop.initializer);
        slot(loop.condition);
        slot(loop.incrementor);
        visit(loop.statement);
        out.push(")");
        return;
      }
      case SK.TypeParameter: {
        const parameter = node as ts.TypeParameterDeclaration;
        out.push(`(${kindName(node.kind)}`);
        if (parameter.modifiers) list(parameter.modifiers);
        visit(parameter.name);
        slot(parameter.constraint);
        slot(parameter.default);
        out.push(")");
        return;
      }
      case SK.ForInStatement:
        words.add("#for-in");
        return generic(node, nodeData(node));
      case SK.CallExpression:
        loadedModule(node as ts.CallExpression);
        return generic(node);
      case SK.PropertyAccessExpression:
        environmentRead(node as ts.PropertyAccessExpression);
        return generic(node);
      default:
        return generic(node, nodeData(node));
    }
  }

  // `{ day }` is `{ day: day }`; `({ a = 1 } = o)` is `({ a: a = 1 } = o)`.
  function shorthandProperty(node: ts.ShorthandPropertyAssignment): void {
    out.push(`(${kindName(SK.PropertyAssignment)}`, key(node.name.text));
    const value = identifier(node.name);
    if (node.objectAssignmentInitializer) {
      out.push(`(${kindName(SK.BinaryExpression)}`, value, `(${kindName(SK.EqualsToken)})`);
      visit(node.objectAssignmentInitializer);
      out.push(")");
    } else {
      out.push(value);
    }
    out.push(")");
  }

  // `{ inputs }` in a pattern is `{ inputs: inputs }`: the key is text, the binding is renamed.
  function bindingElement(node: ts.BindingElement): void {
    out.push(`(${kindName(node.kind)}`);
    if (node.dotDotDotToken) visit(node.dotDotDotToken);
    if (node.propertyName) visit(node.propertyName);
    else if (!node.dotDotDotToken && ts.isObjectBindingPattern(node.parent) && ts.isIdentifier(node.name)) out.push(key(node.name.text));
    visit(node.name);
    slot(node.initializer);
    out.push(")");
  }

  // `import("x")` and `require("x")` reach modules without an import declaration.
  function loadedModule(call: ts.CallExpression): void {
    const [specifier] = call.arguments;
    if (!specifier || !ts.isStringLiteralLike(specifier)) return;
    const callee = call.expression;
    const isRequire =
      ts.isIdentifier(callee) && callee.text === "require" && !scope.checker.getSymbolAtLocation(callee)?.declarations?.length;
    if (callee.kind === SK.ImportKeyword || isRequire) reference({ module: specifier.text });
  }

  // `process.env.X`, `process.env["X"]`, `const { X } = process.env`; any other use reads a name we cannot know.
  function environmentRead(node: ts.PropertyAccessExpression): void {
    const target = node.expression;
    if (node.name.text !== "env" || !ts.isIdentifier(target) || target.text !== "process") return;
    if (scope.checker.getSymbolAtLocation(target)?.declarations?.length) return; // a local named process
    const parent = node.parent;
    const line = scope.sourceFile.getLineAndCharacterOfPosition(node.getStart(scope.sourceFile)).line + 1;
    const read = (name: string): void => {
      if (!env.has(name)) env.set(name, { name, line });
    };
    if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return read(parent.name.text);
    if (ts.isElementAccessExpression(parent) && parent.expression === node) {
      return read(ts.isStringLiteralLike(parent.argumentExpression) ? parent.argumentExpression.text : "*");
    }
    if (ts.isVariableDeclaration(parent) && parent.initializer === node && ts.isObjectBindingPattern(parent.name)) {
      for (const element of parent.name.elements) {
        const key = element.propertyName ?? element.name;
        read(!element.dotDotDotToken && (ts.isIdentifier(key) || ts.isStringLiteralLike(key)) ? key.text : "*");
      }
      return;
    }
    read("*");
  }

  for (const node of nodes) {
    // A top-level variable unit is one declarator; keep its let/const/var.
    if (ts.isVariableDeclaration(node) && ts.isVariableDeclarationList(node.parent)) {
      out.push(`(${kindName(SK.VariableDeclarationList)} ${declarationKind(node.parent.flags)}`);
      visit(node);
      out.push(")");
    } else {
      visit(node);
    }
  }
  return {
    hash: sha256(out.join(" ")),
    references: [...references.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, target]) => target),
    words: [...words].sort(),
    ...(env.size > 0 ? { env: [...env.values()].sort((a, b) => a.line - b.line || (a.name < b.name ? -1 : 1)) } : {}),
    ...(enclosed ? { enclosed } : {}),
    source: printedSource(nodes, scope.sourceFile),
  };
}

let printer: ts.Printer | undefined;

/** The nodes printed without comments and with uniform layout: what a plan diff shows. */
function printedSource(nodes: readonly ts.Node[], sourceFile: ts.SourceFile): string {
  const { ts } = loadTsMorph();
  printer ??= ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });
  return nodes
    .map((node) => {
      if (ts.isVariableDeclaration(node) && ts.isVariableDeclarationList(node.parent)) {
        return `${declarationKind(node.parent.flags)} ${printer!.printNode(ts.EmitHint.Unspecified, node, sourceFile)};`;
      }
      return printer!.printNode(ts.EmitHint.Unspecified, node, sourceFile);
    })
    .join("\n");
}

function kindName(kind: ts.SyntaxKind): string {
  return syntaxTables().kindNames[kind] ?? String(kind);
}

function key(text: string): string {
  return `k${JSON.stringify(text)}`;
}

/** Whether a name or literal is a property key, label or specifier name: text, not a binding. */
function isKey(node: ts.Node): boolean {
  const { ts } = loadTsMorph();
  const SK = ts.SyntaxKind;
  const parent = node.parent;
  if (syntaxTables().keyedByName.has(parent.kind)) return (parent as ts.NamedDeclaration).name === node;
  switch (parent.kind) {
    case SK.BindingElement:
      return (parent as ts.BindingElement).propertyName === node;
    case SK.QualifiedName:
      return (parent as ts.QualifiedName).right === node;
    case SK.LabeledStatement:
    case SK.BreakStatement:
    case SK.ContinueStatement:
      return (parent as ts.LabeledStatement | ts.BreakOrContinueStatement).label === node;
    case SK.ImportSpecifier:
    case SK.ExportSpecifier:
      return true;
    default:
      return false;
  }
}

/** `ns.member` or `ns.Type` uses one member of a namespace import; any other use, all of it. */
function namespaceUse(id: ts.Identifier, local: string): UnitReference {
  const { ts } = loadTsMorph();
  const parent = id.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.expression === id && ts.isIdentifier(parent.name)) {
    return { name: local, member: parent.name.text };
  }
  if (ts.isQualifiedName(parent) && parent.left === id) return { name: local, member: parent.right.text };
  return { name: local };
}

/** What a node means beyond its kind and children. */
function nodeData(node: ts.Node): string | undefined {
  const { ts } = loadTsMorph();
  const SK = ts.SyntaxKind;
  switch (node.kind) {
    case SK.PrefixUnaryExpression:
    case SK.PostfixUnaryExpression:
      return kindName((node as ts.PrefixUnaryExpression | ts.PostfixUnaryExpression).operator);
    case SK.VariableDeclarationList:
      return declarationKind(node.flags);
    case SK.MetaProperty:
      return kindName((node as ts.MetaProperty).keywordToken);
    case SK.TypeOperator:
      return kindName((node as ts.TypeOperatorNode).operator);
    case SK.HeritageClause:
      return kindName((node as ts.HeritageClause).token);
    case SK.ModuleDeclaration:
      return node.flags & ts.NodeFlags.GlobalAugmentation ? "global" : node.flags & ts.NodeFlags.Namespace ? "namespace" : "module";
    case SK.ImportType:
      return (node as ts.ImportTypeNode).isTypeOf ? "typeof" : undefined;
    case SK.ExportAssignment:
      return (node as ts.ExportAssignment).isExportEquals ? "=" : undefined;
    default:
      return undefined;
  }
}

function declarationKind(flags: ts.NodeFlags): string {
  const { ts } = loadTsMorph();
  switch (flags & ts.NodeFlags.BlockScoped) {
    case ts.NodeFlags.Let:
      return "let";
    case ts.NodeFlags.Const:
      return "const";
    case ts.NodeFlags.Using:
      return "using";
    case ts.NodeFlags.AwaitUsing:
      return "await-using";
    default:
      return "var";
  }
}
