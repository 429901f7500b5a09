/**
 * What the fingerprinter keeps of one analysed file: plain JSON, so it can be
 * cached by content hash and linked to other files without parsing again.
 */
export interface FileSummary {
  /** sha256 of the file's text; the summary is valid only for this content. */
  readonly contentHash: string;
  readonly declarations: readonly Declaration[];
  readonly imports: readonly ImportBinding[];
  readonly exports: readonly ExportBinding[];
  /** Specifiers of `export * from "…"`. */
  readonly starExports: readonly string[];
  readonly callSites: readonly CallSite[];
  /** Top-level statements other than imports, with their positions: where a factory's frames are looked up. */
  readonly statements: readonly Statement[];
  /** Outermost calls outside any function: where a factory is called from the module's top level. */
  readonly rootCalls: readonly RootCall[];
  /** The first syntax error, reported only if the file's code is needed; the lists above are then empty. */
  readonly syntaxError?: { readonly line: number; readonly column: number; readonly message: string };
}

/**
 * A name a code unit uses that may lead to more code: a top-level declaration
 * or import binding of the same file (with the member read from it when it is
 * a namespace import used only as `ns.member`), or a module it loads with
 * `import("…")` / `require("…")`.
 */
export type UnitReference = { readonly name: string; readonly member?: string } | { readonly module: string };

/** A piece of code: the hash of its canonical form and the names it uses. */
export interface CodeUnit {
  readonly hash: string;
  readonly references: readonly UnitReference[];
  /**
   * Identifier names and string/template literal texts in the code, plus
   * `#for-in` for a for…in loop: which row fields it may read, for telling a
   * non-breaking change (not hashed).
   */
  readonly words: readonly string[];
  /** `process.env` reads, by variable name ("*" when the name is computed); absent when none. */
  readonly env?: readonly EnvRead[];
  /** The code printed without comments, for people (plan diffs); absent for non-code modules. */
  readonly source?: string;
  /** True when it uses a binding of an enclosing scope that is not part of it (a loop variable, say). */
  readonly enclosed?: boolean;
}

export interface EnvRead {
  readonly name: string;
  readonly line: number;
}

/** A 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * A top-level statement and where it is; `name` is the names it declares. Its
 * code is the unit of the `declaration` it consists of, or its own unit.
 */
export type Statement = StatementPlace & ({ readonly declaration: string } | CodeUnit);

interface StatementPlace {
  readonly start: Position;
  readonly end: Position;
  readonly name?: string;
}

/** An outermost call outside any function (`makeRegional("eu", 0.2)`), as a unit. */
export interface RootCall extends CodeUnit {
  readonly start: Position;
  readonly end: Position;
  /** Inside a loop, or using a binding of an enclosing block: the call alone does not tell its arguments. */
  readonly open: boolean;
  /** Index in `statements` of the statement holding it. */
  readonly statement: number;
}

/** A top-level declaration (function, class, enum, interface, type, variable, `export default`). */
export interface Declaration extends CodeUnit {
  readonly name: string;
  /** 1-based line of its first declaration node. */
  readonly line: number;
}

export interface ImportBinding {
  readonly local: string;
  readonly specifier: string;
  /** The exported name, "default", or "*" for a namespace import. */
  readonly imported: string;
}

/** `export … name` of a local declaration or import binding, or a re-export from another module. */
export type ExportBinding =
  | { readonly exported: string; readonly local: string }
  | { readonly exported: string; readonly specifier: string; readonly imported: string };

/** A call whose second argument is an object literal with a `transform`, `read` or `sql` property. */
export interface CallSite {
  /** 1-based line and column of the callee's name, where stack traces point. */
  readonly line: number;
  readonly column: number;
  /** The first argument when it is a string literal: the dataset name. */
  readonly firstArgument?: string;
  /** Names of the top-level declarations that contain the call. */
  readonly containers: readonly string[];
  /** The call is inside a function: a factory, fingerprinted with the calls that made this dataset. */
  readonly insideFunction?: boolean;
  /** The code of each run property, as a unit of its own. */
  readonly properties: Readonly<Record<string, CodeUnit>>;
  /** 1-based line of each run property, for errors about it. */
  readonly propertyLines: Readonly<Record<string, number>>;
}
