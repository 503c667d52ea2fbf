import { Readable } from 'node:stream';
import type { Digest } from '../../src/oci/digest.js';
import type { ImageSource } from '../../src/oci/source.js';

function digestOf(n: number): Digest {
  return `sha256:${n.toString(16).padStart(64, 'a')}` as Digest;
}

/** An ImageSource with `commands.length` layers and no bytes: what the TUI reads before any layer streams. */
export function fakeSource(commands: readonly string[], reference = 'registry.test/app:1.0'): ImageSource {
  const layers = commands.map((_, i) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: digestOf(i + 1),
    size: 1000 * (i + 1),
  }));
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: digestOf(99),
    size: 500,
  };
  return {
    reference,
    kind: 'oci-layout',
    digest: digestOf(100),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    schema: 'oci-v1',
    platform: { os: 'linux', architecture: 'amd64' },
    index: undefined,
    manifest: { schemaVersion: 2, config: configDescriptor, layers },
    rawManifest: new Uint8Array(),
    config: {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: commands.map((created_by) => ({ created_by })),
    },
    configDescriptor,
    layers,
    openBlob: async () => Readable.from([]),
    close: async () => {},
  };
}
