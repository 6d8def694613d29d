import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

/**
 * Inside a real tslab kernel, src/ is loaded through tslab's own module
 * loader, which resolves files but not directories: `import '../engine'`
 * fails there with "Cannot find module" while working under tsx/mocha. Every
 * relative import in src/ must therefore name a file (`../engine/index`).
 */
describe('notebook: src imports load inside tslab', () => {
  it('no relative import in src/ points at a directory', () => {
    const root = path.resolve(__dirname, '..', '..', 'src');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith('.ts')) {
          const text = fs.readFileSync(p, 'utf8');
          for (const m of text.matchAll(/(?:from|import|require\()\s*['"](\.{1,2}(?:\/[^'"]*)?)['"]/g)) {
            const target = path.resolve(path.dirname(p), m[1]);
            if (fs.existsSync(target) && fs.statSync(target).isDirectory()) offenders.push(`${path.relative(root, p)}: '${m[1]}'`);
          }
        }
      }
    };
    walk(root);
    assert.deepEqual(offenders, [], `directory imports (use '<dir>/index'):\n${offenders.join('\n')}`);
  });
});
