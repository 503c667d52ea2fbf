import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { startFaultProxy } from '../registry/fault-proxy.js';
import { registryUnavailable, startRegistry } from '../registry/harness.js';
import { describeHostileImages } from './hostile-images.js';
import { describeRegistryFaults } from './registry-faults.js';
import { describeSecrets } from './secrets.js';
import { Suite } from './suite.js';

/**
 * Issue 7's reliability and security suite: every registry fault, hostile image and secret-handling
 * case met by the built CLI (`node bin/imgscope check --json`) against real Distribution behind the
 * fault proxy, each with a time limit. Ends by printing the outcome table (recovered / failed cleanly /
 * lost / hung, with times) that the README carries.
 */
describe.skipIf(registryUnavailable)('reliability and security of the built CLI', () => {
  const suite = new Suite();

  beforeAll(async () => {
    suite.scratch = mkdtempSync(join(tmpdir(), 'imgscope-reliability-'));
    suite.registry = await startRegistry({ auth: 'token' });
    suite.proxy = await startFaultProxy(suite.registry.url);
  });

  afterAll(async () => {
    await suite.proxy?.stop();
    await suite.registry?.stop();
    if (suite.ledger.rows.length > 0) {
      const table = suite.ledger.markdown();
      const file = join(tmpdir(), 'imgscope-reliability-table.md');
      writeFileSync(file, `${table}\n`);
      process.stdout.write(`\nReliability and security outcomes (also in ${file}):\n\n${table}\n\n`);
    }
    if (suite.scratch) rmSync(suite.scratch, { recursive: true, force: true });
  });

  describeRegistryFaults(suite);
  describeHostileImages(suite);
  describeSecrets(suite);
});
