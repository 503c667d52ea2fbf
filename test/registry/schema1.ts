import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { Digest } from '../../src/oci/digest.js';
import { sha256Digest } from '../../src/oci/digest.js';

/**
 * Builds Docker image manifests v2 schema 1 signed the way libtrust signs them (a JWS with an ES256 key
 * whose JWK `kid` is libtrust's key ID), so real Distribution accepts the push.
 */
export interface Schema1Layer {
  digest: Digest;
  /** One v1Compatibility document; `throwaway` marks an empty layer. */
  v1: Record<string, unknown>;
}

export interface SignedSchema1 {
  /** The pretty-printed JWS document a registry stores and serves. */
  bytes: Buffer;
  /** The digest registries give it: sha256 of the payload without signatures. */
  digest: Digest;
}

/** Layers top first, as schema 1 lists them. */
export function signedSchema1(name: string, tag: string, layersTopFirst: Schema1Layer[]): SignedSchema1 {
  const manifest = {
    schemaVersion: 1,
    name,
    tag,
    architecture: 'amd64',
    fsLayers: layersTopFirst.map((layer) => ({ blobSum: layer.digest })),
    history: layersTopFirst.map((layer) => ({ v1Compatibility: JSON.stringify(layer.v1) })),
  };
  // libtrust finds the closing brace and keeps what follows the last member as formatTail.
  const payload = Buffer.from(JSON.stringify(manifest, null, 3));
  const closing = payload.lastIndexOf('}');
  let formatLength = closing;
  while (formatLength > 0 && /\s/.test(String.fromCharCode(payload[formatLength - 1]!))) formatLength--;
  const formatTail = payload.subarray(formatLength);

  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const protectedHeader = b64url(
    JSON.stringify({ formatLength, formatTail: b64url(formatTail), time: new Date().toISOString() }),
  );
  const signingInput = `${protectedHeader}.${b64url(payload)}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const jwk = publicKey.export({ format: 'jwk' });
  const signatures = [
    {
      header: {
        jwk: { crv: jwk.crv, kid: libtrustKeyId(publicKey), kty: jwk.kty, x: jwk.x, y: jwk.y },
        alg: 'ES256',
      },
      signature: b64url(signature),
      protected: protectedHeader,
    },
  ];
  const signatureText = JSON.stringify(signatures, null, 3).replace(/\n/g, '\n   ');
  const bytes = Buffer.concat([
    payload.subarray(0, formatLength),
    Buffer.from(`,\n   "signatures": ${signatureText}`),
    formatTail,
  ]);
  return { bytes, digest: sha256Digest(payload) };
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/** libtrust's key ID: base32 of the first 240 bits of sha256(DER SPKI), in groups of four. */
function libtrustKeyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const hash = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out.match(/.{1,4}/g)!.join(':');
}
