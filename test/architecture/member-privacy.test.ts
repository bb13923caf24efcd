import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import ts from 'typescript';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const sources = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
  cwd: repoRoot,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => /^(proxy|widget|contract)\//.test(f));

/**
 * Classes that hide members both ways: `#name` and the `private` keyword. A `private constructor`
 * (a class made only by its static factory) hides no member, and Lit's reactive state is
 * `declare private`: Lit makes its accessors by property name, which a `#name` cannot have.
 */
function mixedClasses(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(path.join(repoRoot, file), 'utf8'), ts.ScriptTarget.Latest);
  const mixed: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassLike(node)) {
      let hash = false;
      let keyword = false;
      for (const member of node.members) {
        if (member.name && ts.isPrivateIdentifier(member.name)) hash = true;
        const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
        const isLitState = modifiers.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword);
        const hidden = modifiers.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword);
        if (hidden && !isLitState && !ts.isConstructorDeclaration(member)) keyword = true;
        if (ts.isConstructorDeclaration(member))
          for (const p of member.parameters)
            if (ts.getModifiers(p)?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword)) keyword = true;
      }
      if (hash && keyword) mixed.push(`${file}: ${node.name?.text ?? '(anonymous class)'}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return mixed;
}

it('every class hides its members one way: `#name` or `private`, not both', () => {
  assert.deepEqual(sources.flatMap(mixedClasses), []);
});
