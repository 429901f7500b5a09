import path from "node:path";
import type { Project, ts } from "ts-morph";
import type { FileSummary } from "./file-summary.js";
import { loadTsMorph } from "./load-ts-morph.js";
import { SCRIPT_EXTENSIONS } from "./resolve-module.js";
import { summarizeFile } from "./summarize-file.js";

export interface SourceText {
  readonly file: string;
  readonly text: string;
  readonly contentHash: string;
}

/** Parses and summarises files, creating the ts-morph project only when there is code to parse. */
export interface FileAnalyzer {
  analyse(sources: readonly SourceText[]): FileSummary[];
}

export function createFileAnalyzer(): FileAnalyzer {
  let project: Project | undefined;
  return {
    analyse(sources) {
      const scripts = sources.filter((source) => SCRIPT_EXTENSIONS.includes(path.extname(source.file)));
      if (scripts.length === 0) return sources.map(assetSummary);
      const { Project, ts } = loadTsMorph();
      const tsProject = (project ??= new Project({
        useInMemoryFileSystem: false,
        skipAddingFilesFromTsConfig: true,
        skipFileDependencyResolution: true,
        compilerOptions: {
          noLib: true,
          noResolve: true,
          types: [],
          allowJs: true,
          target: ts.ScriptTarget.ES2022,
          // Every file is a module, so no file's top-level names leak into another's scope.
          moduleDetection: ts.ModuleDetectionKind.Force,
        },
      }));
      // Add the whole batch first: the program and checker are rebuilt once per batch, not per file.
      const parsed = new Map(scripts.map((source) => [source, tsProject.createSourceFile(source.file, source.text, { overwrite: true }).compilerNode]));
      const program = tsProject.getProgram().compilerObject;
      const checker = program.getTypeChecker();
      return sources.map((source) => {
        const sourceFile = parsed.get(source);
        if (!sourceFile) return assetSummary(source);
        const [diagnostic] = program.getSyntacticDiagnostics(sourceFile);
        return diagnostic ? errorSummary(source, sourceFile, diagnostic) : summarizeFile(sourceFile, checker, source.contentHash);
      });
    },
  };
}

/** A non-code module (JSON, say): its default export is its bytes. */
function assetSummary(source: SourceText): FileSummary {
  return {
    contentHash: source.contentHash,
    declarations: [{ name: "default", line: 1, hash: source.contentHash, references: [], words: [] }],
    imports: [],
    exports: [{ exported: "default", local: "default" }],
    starExports: [],
    callSites: [],
    statements: [],
    rootCalls: [],
  };
}

function errorSummary(source: SourceText, sourceFile: ts.SourceFile, diagnostic: ts.Diagnostic): FileSummary {
  const { ts } = loadTsMorph();
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  return {
    contentHash: source.contentHash,
    declarations: [],
    imports: [],
    exports: [],
    starExports: [],
    callSites: [],
    statements: [],
    rootCalls: [],
    syntaxError: { line: line + 1, column: character + 1, message: ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n") },
  };
}
