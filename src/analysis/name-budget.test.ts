import { describe, expect, it } from 'vitest';
import { NameBudget } from './name-budget.js';
import { PathTable } from './paths.js';

describe('NameBudget', () => {
  it('holds 3,200,000 files of node_modules (4,300,000 paths) with room to spare', () => {
    const table = new PathTable(new NameBudget());
    const packages = Array.from({ length: 30_000 }, (_, i) => `package-name-${i.toString(36)}`);
    const files = Array.from({ length: 60_000 }, (_, i) => `module-${i.toString(36)}.js`);
    const root = table.intern(['app', 'node_modules']);
    let made = 0;
    for (let p = 0; made < 4_300_000; p++) {
      const pkg = table.child(root, packages[p % packages.length]!);
      const dir = table.child(table.child(pkg, `dist${Math.floor(p / packages.length)}`), 'lib');
      made += 3;
      for (let f = 0; f < 140; f++, made++) table.child(dir, files[(p * 140 + f) % files.length]!);
    }
    expect(table.size).toBeGreaterThan(4_250_000);
  });

  it('stops at its path count or its name bytes, whichever comes first', () => {
    const paths = new NameBudget(1024, 3);
    for (let i = 0; i < 3; i++) paths.chargePath();
    expect(() => paths.chargePath()).toThrow('it has more than 3 distinct paths');
    const names = new NameBudget(1024, 3);
    names.charge(1024);
    expect(() => names.charge(1)).toThrow(
      'its file names and link targets take more than 1024 bytes of memory',
    );
  });
});
