import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { readNotebookCells } from '../../src/notebook/run-notebook';

/**
 * tslab quirk: a shorthand property naming a variable of an EARLIER cell
 * (`{ config }`) throws "config is not defined" in the kernel (its converter
 * rewrites `config` but not the shorthand); `{ config: config }` works.
 * Returns "cell N: name" for every such shorthand.
 */
function earlierCellShorthands(cells: readonly string[]): string[] {
  const earlier = new Set<string>();
  const found: string[] = [];
  cells.forEach((source, i) => {
    const file = ts.createSourceFile(`cell${i}.ts`, source, ts.ScriptTarget.ES2020, true);
    const visit = (node: ts.Node): void => {
      if (ts.isShorthandPropertyAssignment(node) && earlier.has(node.name.text)) found.push(`cell ${i}: ${node.name.text}`);
      ts.forEachChild(node, visit);
    };
    visit(file);
    for (const st of file.statements) {
      if (ts.isVariableStatement(st)) {
        for (const d of st.declarationList.declarations) {
          const names = (n: ts.BindingName): string[] => (ts.isIdentifier(n) ? [n.text] : n.elements.flatMap((e) => (ts.isOmittedExpression(e) ? [] : names(e.name))));
          names(d.name).forEach((n) => earlier.add(n));
        }
      } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) earlier.add(st.name.text);
    }
  });
  return found;
}

describe('notebook: tslab shorthand-property quirk', () => {
  it('finds shorthands of earlier-cell variables only', () => {
    assert.deepEqual(earlierCellShorthands(['const config = 1; const { a, b: [c] } = x;', 'const o = { config, a: a, c }; const p = { local }; const local = 2;']), ['cell 1: config', 'cell 1: c']);
    assert.deepEqual(earlierCellShorthands(['const o = { config }; const config = 1;']), []);
  });

  it('no notebook uses one', () => {
    const dir = path.resolve(__dirname, '..', '..', 'notebooks');
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ipynb'))) {
      const code = readNotebookCells(path.join(dir, f)).filter((c) => c.type === 'code').map((c) => c.source);
      assert.deepEqual(earlierCellShorthands(code), [], `${f}: write \`{ name: name }\` for variables of earlier cells`);
    }
  });
});
