// After the build: turn each ESM entry into a thin wrapper over its CommonJS build, so `import`
// and `require` load one implementation (no dual-package hazard: one copy of every class and of
// module state). The names come from the full ESM build tsup just wrote, and its type
// declarations serve the CommonJS entry too (dist/*.d.cts re-export them).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const dist = join(import.meta.dirname, '..', 'dist');
for (const entry of ['index', 'redis', 'whatwg']) {
  const file = join(dist, `${entry}.js`);
  const ns = await import(pathToFileURL(file).href);
  const names = Object.keys(ns).filter((name) => name !== 'default').sort();
  const lines = [
    `// The ESM entry of rfc6455${entry === 'index' ? '' : `/${entry}`}: a re-export of the CommonJS build, so both module systems share one implementation.`,
    `import root from './${entry}.cjs';`,
    ...(names.length === 0 ? [] : [`export const { ${names.join(', ')} } = root;`]),
    ...('default' in ns ? ['export default root;'] : []),
    '',
  ];
  writeFileSync(file, lines.join('\n'));
  // The CommonJS types are the ESM ones: `import X from` gives module.exports (the root) in both.
  writeFileSync(join(dist, `${entry}.d.cts`), `export * from './${entry}.js';\n${'default' in ns ? `export { default } from './${entry}.js';\n` : ''}`);
}
// Declarations without comments: the documentation lives in README.md and the sources, and the
// package stays small (under twice ws's unpacked size). `implements` clauses name internal
// interfaces whose members are stripped (@internal): they are dropped, so the declarations
// compile without skipLibCheck.
const printer = ts.createPrinter({ removeComments: true });
const dropImplements = (context) => (root) => {
  const visit = (node) => {
    if (ts.isClassDeclaration(node) && node.heritageClauses?.some((c) => c.token === ts.SyntaxKind.ImplementsKeyword)) {
      const clauses = node.heritageClauses.filter((c) => c.token !== ts.SyntaxKind.ImplementsKeyword);
      return ts.factory.updateClassDeclaration(node, node.modifiers, node.name, node.typeParameters, clauses.length === 0 ? undefined : clauses, node.members);
    }
    return ts.visitEachChild(node, visit, context);
  };
  return ts.visitNode(root, visit);
};
for (const name of readdirSync(dist).filter((file) => file.endsWith('.d.ts'))) {
  const path = join(dist, name);
  const source = ts.createSourceFile(name, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const [result] = ts.transform(source, [dropImplements]).transformed;
  writeFileSync(path, printer.printFile(result));
}
