import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/shared.js';
import { MediaType } from '../media-types.js';
import type { ImageSource } from '../source.js';
import { openLocalImage } from './index.js';

/** Reads every blob to the end, so each one's digest and size are checked. */
async function streamEveryBlob(source: ImageSource): Promise<number> {
  let bytes = 0;
  for (const descriptor of [source.configDescriptor, ...source.layers]) {
    for await (const chunk of await source.openBlob(descriptor)) bytes += (chunk as Buffer).length;
  }
  return bytes;
}

// The project's own fixtures (scripts/make-fixtures.js): the same demo image as an OCI layout, an
// oci-archive and a legacy docker save, so all three readers must agree on it.
describe('project fixtures', () => {
  it('reads the demo image identically from its OCI layout and its oci-archive', async () => {
    const layout = await openLocalImage(`oci:${fixture('demo')}:demo`);
    const archive = await openLocalImage(fixture('demo.oci.tar'));
    expect(layout.kind).toBe('oci-layout');
    expect(archive.kind).toBe('oci-archive');
    expect(archive.digest).toBe(layout.digest);
    expect(archive.layers).toEqual(layout.layers);
    expect(layout.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(layout.layers).toHaveLength(8);
    expect(new Set(layout.layers.map((layer) => layer.mediaType))).toEqual(
      new Set([MediaType.OciLayerGzip, MediaType.OciLayerZstd, MediaType.OciLayer]),
    );
    const bytes = await streamEveryBlob(layout);
    expect(bytes).toBe(
      layout.configDescriptor.size + layout.layers.reduce((sum, layer) => sum + layer.size, 0),
    );
    expect(await streamEveryBlob(archive)).toBe(bytes);
  });

  it('reads the same image from the legacy docker save, its layers named by the diff ids', async () => {
    const oci = await openLocalImage(fixture('demo'));
    const docker = await openLocalImage(`docker-archive:${fixture('demo.docker.tar')}:imgscope/demo:1.0`);
    expect(docker.kind).toBe('docker-archive');
    expect(docker.schema).toBe('docker-v2s2');
    expect(docker.config.rootfs.diff_ids).toEqual(oci.config.rootfs.diff_ids);
    expect(docker.layers.map((layer) => layer.digest)).toEqual(oci.config.rootfs.diff_ids);
    expect(docker.layers.every((layer) => layer.mediaType === MediaType.DockerLayer)).toBe(true);
    await streamEveryBlob(docker);
  });

  it('selects a platform from the multiarch index; arm64 is the same image as the arm64 fixture', async () => {
    const single = await openLocalImage(fixture('arm64'));
    expect(single.platform).toEqual({ os: 'linux', architecture: 'arm64' });
    const amd = await openLocalImage(fixture('multiarch'));
    const arm = await openLocalImage(`oci:${fixture('multiarch')}:multiarch`, {
      platform: { os: 'linux', architecture: 'arm64' },
    });
    expect(amd.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(amd.index?.manifests).toHaveLength(2);
    expect(arm.digest).toBe(single.digest);
    expect(arm.index?.digest).toBe(amd.index?.digest);
    await streamEveryBlob(arm);
  });
});
