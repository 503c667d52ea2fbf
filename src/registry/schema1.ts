import { type Digest, parseDigest, sha256Digest } from '../oci/digest.js';
import type { Schema1Manifest } from '../oci/manifest.js';
import { normalizePlatform } from '../oci/platform.js';
import type { HistoryEntry, ImageConfig } from '../oci/types.js';

/**
 * Docker image manifest v2 schema 1, the format registries deprecated: recognised so the policy can
 * report it, converted just far enough to be an ImageSource (layers in order, a synthesised config).
 */

interface V1Compatibility {
  created?: string;
  architecture?: string;
  os?: string;
  variant?: string;
  throwaway?: boolean;
  config?: ImageConfig['config'];
  container_config?: { Cmd?: string[] | null };
}

/**
 * The digest a registry gives a manifest. For a signed schema 1 manifest it covers the JWS payload
 * (the document without its `signatures`), rebuilt from the protected header's formatLength/formatTail.
 */
export function manifestDigestOf(bytes: Uint8Array): Digest {
  return sha256Digest(manifestPayload(bytes));
}

/** The bytes a manifest's digest covers, in any algorithm: all of them, or a signed schema 1's payload. */
export function manifestPayload(bytes: Uint8Array): Uint8Array {
  return schema1SignedPayload(bytes) ?? bytes;
}

function schema1SignedPayload(bytes: Uint8Array): Uint8Array | undefined {
  // Cheap test first: only signed schema 1 documents have this key.
  if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes('"signatures"'))
    return undefined;
  try {
    const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as {
      schemaVersion?: unknown;
      signatures?: { protected?: unknown }[];
    };
    const protectedHeader = doc.schemaVersion === 1 ? doc.signatures?.[0]?.protected : undefined;
    if (typeof protectedHeader !== 'string') return undefined;
    const header = JSON.parse(Buffer.from(protectedHeader, 'base64url').toString('utf8')) as {
      formatLength?: unknown;
      formatTail?: unknown;
    };
    const { formatLength, formatTail } = header;
    if (
      typeof formatLength !== 'number' ||
      typeof formatTail !== 'string' ||
      formatLength > bytes.byteLength
    ) {
      return undefined;
    }
    return Buffer.concat([bytes.subarray(0, formatLength), Buffer.from(formatTail, 'base64url')]);
  } catch {
    return undefined;
  }
}

function parseV1(text: string | undefined): V1Compatibility {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as V1Compatibility) : {};
  } catch {
    return {};
  }
}

export interface Schema1Image {
  config: ImageConfig;
  configBytes: Uint8Array;
  /** Layer digests, base first, without the throwaway (empty) entries. */
  layerDigests: Digest[];
}

/** Layers from `fsLayers` reversed (schema 1 lists the top layer first); config from history[0]. */
export function convertSchema1(raw: Schema1Manifest, label: string): Schema1Image {
  const fsLayers = raw.fsLayers ?? [];
  const history = raw.history ?? [];
  const top = parseV1(history[0]?.v1Compatibility);
  const entries: HistoryEntry[] = [];
  const layerDigests: Digest[] = [];
  for (let i = fsLayers.length - 1; i >= 0; i--) {
    const v1 = parseV1(history[i]?.v1Compatibility);
    const entry: HistoryEntry = { empty_layer: v1.throwaway === true };
    if (v1.created) entry.created = v1.created;
    const cmd = v1.container_config?.Cmd;
    if (Array.isArray(cmd)) entry.created_by = cmd.join(' ');
    entries.push(entry);
    if (v1.throwaway !== true)
      layerDigests.push(parseDigest(fsLayers[i]?.blobSum, `${label}: fsLayers[${i}]`));
  }
  const platform = normalizePlatform({
    os: top.os ?? 'linux',
    architecture: top.architecture ?? raw.architecture ?? 'unknown',
    ...(top.variant ? { variant: top.variant } : {}),
  });
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    ...(top.created ? { created: top.created } : {}),
    ...(top.config ? { config: top.config } : {}),
    // Schema 1 carries no diff IDs; the uncompressed digests are unknown until the layers are read.
    rootfs: { type: 'layers', diff_ids: [] },
    history: entries,
  };
  return { config, configBytes: Buffer.from(JSON.stringify(config)), layerDigests };
}
