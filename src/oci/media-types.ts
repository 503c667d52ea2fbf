/** Media types of the OCI image spec and Docker's distribution formats. */
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifestSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerManifestSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const;

/** Strips parameters (`; charset=…`) and case so media types compare reliably. */
export function baseMediaType(mediaType: string): string {
  return (mediaType.split(';')[0] ?? '').trim().toLowerCase();
}

export function isIndexMediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return base === MediaType.OciIndex || base === MediaType.DockerManifestList;
}

export function isImageManifestMediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return base === MediaType.OciManifest || base === MediaType.DockerManifest;
}

/**
 * A foreign (Windows base) or OCI non-distributable layer: docker push leaves it out and the registry
 * accepts the manifest without it, so no registry holds its bytes (they are fetched from its `urls`).
 */
export function isNonDistributableMediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return (
    base.startsWith('application/vnd.docker.image.rootfs.foreign.') ||
    base.startsWith('application/vnd.oci.image.layer.nondistributable.')
  );
}

export function isSchema1MediaType(mediaType: string): boolean {
  const base = baseMediaType(mediaType);
  return base === MediaType.DockerManifestSchema1 || base === MediaType.DockerManifestSchema1Signed;
}

/** The manifest schema a user would name: what the `manifest-format` check reports. */
export type ManifestSchema = 'oci-v1' | 'docker-v2s2' | 'docker-v2s1' | 'unknown';

export function manifestSchemaOf(mediaType: string): ManifestSchema {
  const base = baseMediaType(mediaType);
  if (base === MediaType.OciManifest || base === MediaType.OciIndex) return 'oci-v1';
  if (base === MediaType.DockerManifest || base === MediaType.DockerManifestList) return 'docker-v2s2';
  if (isSchema1MediaType(base)) return 'docker-v2s1';
  return 'unknown';
}
