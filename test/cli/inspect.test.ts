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
    expect(result.stdout).toMatch(/^ {3}1 {4}36\.6 KiB {2}d9d14808aa9d {2}ADD file:/m);
    expect(result.stdout).toMatch(/^ {3}8 {4}2\.94 KiB {2}964142c3403c {2}RUN npm run build/m);
  });

  it('refuses a single-platform image for another --platform, in one line (exit 2)', async () => {
    const result = await runCli(['inspect', '--platform', 'linux/arm64', 'fixtures/demo']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'imgscope: fixtures/demo: the image is linux/amd64, not the requested linux/arm64 — ' +
        'drop --platform to take the image as it is, or pick a tag built for linux/arm64\n',
    );
  });

  it('counts a single environment variable as "1 variable"', async () => {
    const result = await runCli(['inspect', 'fixtures/arm64']);
    expect(result.stdout).toMatch(/^Env {9}1 variable$/m);
  });

  it('refuses an empty --password-stdin in one line (exit 2) before reaching any registry', async () => {
    for (const input of ['', '\n']) {
      const result = await runCli(
        ['inspect', '--username', 'me', '--password-stdin', 'registry.invalid/app:v1'],
        { input },
      );
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^imgscope: --password-stdin read an empty password from standard input — .*\n$/,
      );
    }
  });
});
