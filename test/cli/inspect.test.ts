import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('imgscope inspect', () => {
  it('describes an index and the selected image without reading layers', async () => {
    const result = await runCli(['inspect', '--json', 'fixtures/multiarch']);
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.platform).toBe('linux/amd64');
    expect(info.index.manifests.map((m: { platform: string }) => m.platform)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    expect(info.layers).toHaveLength(1);
    expect(info.compressedSize).toBe(info.config.size + info.layers[0].size);
  });

  it('prints config facts a deploy depends on', async () => {
    const result = await runCli(['inspect', 'fixtures/demo']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Platform {4}linux\/amd64$/m);
    expect(result.stdout).toMatch(/^Ports {7}9000\/tcp$/m);
    expect(result.stdout).toMatch(/^Layers {6}8, /m);
  });

  it('counts a single environment variable as "1 variable"', async () => {
    const result = await runCli(['inspect', 'fixtures/arm64']);
    expect(result.stdout).toMatch(/^Env {9}1 variable$/m);
  });
});
