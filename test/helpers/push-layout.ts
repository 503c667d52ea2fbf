import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestHex } from '../../src/oci/digest.js';
import { openLocalImage } from '../../src/oci/local/index.js';
import { pushImage } from '../../src/registry/index.js';

/** Pushes the image of the OCI layout `dir` to `reference` (HOST/NAME:TAG); returns its layers' digests. */
export async function pushLayout(dir: string, reference: string): Promise<string[]> {
  const local = await openLocalImage(`oci:${dir}`);
  try {
    const blob = (digest: string) => join(dir, 'blobs', 'sha256', digestHex(digest as `sha256:${string}`));
    await pushImage(
      reference,
      {
        manifest: local.rawManifest,
        config: readFileSync(blob(local.configDescriptor.digest)),
        blobs: (descriptor) => createReadStream(blob(descriptor.digest)),
      },
      { env: {} },
    );
    return local.layers.map((layer) => layer.digest);
  } finally {
    await local.close();
  }
}
