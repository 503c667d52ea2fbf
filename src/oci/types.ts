import type { Digest } from './digest.js';
import type { Platform } from './platform.js';

/** A content descriptor (OCI image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  /** OCI 1.1: what kind of artifact this manifest is, when it is not a container image. */
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  /** Entries named by a digest of another algorithm (sha512): skipped unless the one selected. */
  unusable?: UnusableEntry[];
  annotations?: Record<string, string>;
}

/** An index entry imgscope cannot read, and where it stood: before `manifests[position]`. */
export interface UnusableEntry extends Omit<Descriptor, 'digest'> {
  digest: string;
  position: number;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The parts of the image config (OCI config.md / Docker image JSON) imgscope reads. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object> | null;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: Digest[] };
  history?: HistoryEntry[];
}
