/**
 * Sizes that keep the code readable: no production file (functions/, infra/, cli/, sandbox/) over 400 lines and
 * no function over 80 (function declarations, function expressions, arrow functions, methods, accessors and
 * constructors, each measured from its first line to its last), except those listed below with their reason.
 * Functions are found with the TypeScript compiler's own parser (the project's `typescript`, through its API).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type Node, type SourceFile, SyntaxKind } from 'typescript/unstable/ast';
import { isFunctionLikeDeclaration } from 'typescript/unstable/ast/is';
import { API } from 'typescript/unstable/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;
const PRODUCTION = ['functions', 'infra', 'cli', 'sandbox'];

/**
 * What may stay over its limit, and why: a file by its path, a function by `path › name`, where the name is the
 * function's own (or the variable or property it is assigned to, `<anonymous>` otherwise), qualified by the
 * classes and functions around it.
 */
const EXCEPTIONS: Record<string, string> = {};

interface Oversize {
  key: string;
  lines: number;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function nameOf(node: Node): string | undefined {
  if (node.kind === SyntaxKind.Constructor) return 'constructor';
  const named = node as Node & { name?: Node & { text?: string } };
  if (named.name?.text !== undefined) return named.name.text;
  return undefined;
}

/** The function's name, qualified by the named classes and functions it is declared in. */
function qualifiedName(node: Node): string {
  const own = (n: Node) => {
    const name = nameOf(n);
    if (name !== undefined || !isFunctionLikeDeclaration(n)) return name;
    // An anonymous function takes the name of what it is assigned to.
    const parent = n.parent;
    return parent?.kind === SyntaxKind.VariableDeclaration ||
      parent?.kind === SyntaxKind.PropertyAssignment ||
      parent?.kind === SyntaxKind.PropertyDeclaration
      ? (nameOf(parent) ?? '<anonymous>')
      : '<anonymous>';
  };
  const names: string[] = [own(node) ?? '<anonymous>'];
  for (let n = node.parent; n && n.kind !== SyntaxKind.SourceFile; n = n.parent) {
    if (n.kind === SyntaxKind.ClassDeclaration || isFunctionLikeDeclaration(n))
      names.unshift(own(n) ?? '<anonymous>');
  }
  return names.join('.');
}

function lineOf(file: SourceFile, position: number): number {
  return file.getLineAndCharacterOfPosition(position).line;
}

/**
 * The files over MAX_FILE_LINES and the functions over MAX_FUNCTION_LINES among `files` (named by their path below
 * `root`), parsed as a project of those files alone (no imports resolved, nothing type-checked).
 */
function oversize(root: string, files: string[]): Oversize[] {
  const dir = mkdtempSync(join(tmpdir(), 'canary-sizes-project-'));
  const api = new API({ cwd: dir });
  try {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { noResolve: true, types: [], noEmit: true }, files }),
    );
    const snapshot = api.updateSnapshot({ openProjects: [join(dir, 'tsconfig.json')] });
    const [project] = snapshot.getProjects();
    if (!project) throw new Error('the files do not form a project');
    return files.flatMap((path) => {
      const file = project.program.getSourceFile(path);
      if (!file) throw new Error(`${path} was not parsed`);
      return oversizeIn(relative(root, path), file, readFileSync(path, 'utf8'));
    });
  } finally {
    api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function oversizeIn(name: string, file: SourceFile, text: string): Oversize[] {
  const found: Oversize[] = [];
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_FILE_LINES) found.push({ key: name, lines });
  const visit = (node: Node): undefined => {
    if (isFunctionLikeDeclaration(node) && (node as Node & { body?: Node }).body) {
      const length = lineOf(file, node.end) - lineOf(file, node.getStart(file)) + 1;
      if (length > MAX_FUNCTION_LINES) found.push({ key: `${name} › ${qualifiedName(node)}`, lines: length });
    }
    node.forEachChild(visit);
    return undefined;
  };
  visit(file);
  return found;
}

describe('sizes', () => {
  const root = process.cwd();
  let found: Oversize[] = [];
  beforeAll(() => {
    found = oversize(
      root,
      PRODUCTION.flatMap((dir) => tsFiles(join(root, dir))),
    );
  });

  it(`no production file over ${MAX_FILE_LINES} lines and no function over ${MAX_FUNCTION_LINES}, but the listed exceptions`, () => {
    const unexplained = found.filter((o) => !(o.key in EXCEPTIONS)).map((o) => `${o.key} (${o.lines} lines)`);
    expect(unexplained).toEqual([]);
  });

  it('every exception still names a file or function over its limit (remove those that no longer are)', () => {
    const over = new Set(found.map((o) => o.key));
    expect(Object.keys(EXCEPTIONS).filter((key) => !over.has(key))).toEqual([]);
  });

  it('every exception gives its reason on one line', () => {
    const unexplained = Object.entries(EXCEPTIONS).filter(
      ([, why]) => why.trim() === '' || why.includes('\n'),
    );
    expect(unexplained).toEqual([]);
  });
});

describe('the size measure', () => {
  const probes = mkdtempSync(join(tmpdir(), 'canary-sizes-'));
  afterAll(() => rmSync(probes, { recursive: true, force: true }));

  it('finds long function declarations, arrow functions, methods and constructors, named where they are', () => {
    // Prepare
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    mkdirSync(join(probes, 'src'));
    const source = [
      `export function long() {\n${body(79)}\n}`, // 81 lines
      `export function short() {\n${body(78)}\n}`, // 80 lines: at the limit
      `export const arrow = () => {\n${body(79)}\n};`,
      `export class Box {\n  constructor() {\n${body(79)}\n  }\n  method() {\n${body(79)}\n  }\n}`,
      `export const outer = () => [1].map(() => {\n${body(79)}\n});`,
      body(MAX_FILE_LINES),
    ].join('\n');
    writeFileSync(join(probes, 'src', 'probe.ts'), `${source}\n`);

    // Act
    const result = oversize(probes, [join(probes, 'src', 'probe.ts')]);

    // Assess
    expect(result.map((o) => o.key).sort()).toEqual(
      [
        'src/probe.ts',
        'src/probe.ts › long',
        'src/probe.ts › arrow',
        'src/probe.ts › Box.constructor',
        'src/probe.ts › Box.method',
        'src/probe.ts › outer',
        'src/probe.ts › outer.<anonymous>',
      ].sort(),
    );
    expect(result.find((o) => o.key === 'src/probe.ts › long')?.lines).toBe(81);
  });
});
