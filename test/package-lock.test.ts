import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared.js';

/** The fields of package.json that npm copies into the lock file's root entry (packages[""]). */
const MIRRORED = [
  'name',
  'version',
  'license',
  'bin',
  'engines',
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
] as const;

function readJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(projectRoot, name), 'utf8')) as Record<string, unknown>;
}

describe('package-lock.json', () => {
  // The README's first command is `npm install`: a lock file whose root entry lags package.json is
  // rewritten by it, and a fresh clone shows a modified package-lock.json before any change is made.
  it("records package.json's own fields as they are, so npm install leaves a fresh clone unmodified", () => {
    const manifest = readJson('package.json');
    const lock = readJson('package-lock.json') as {
      name: unknown;
      version: unknown;
      packages: Record<string, unknown>;
    };
    const root = lock.packages[''] as Record<string, unknown>;
    expect({ name: lock.name, version: lock.version }).toEqual({
      name: manifest.name,
      version: manifest.version,
    });
    for (const field of MIRRORED) expect({ [field]: root[field] }).toEqual({ [field]: manifest[field] });
  });
});
