/** The registry as an image source, and the small push API tests, benchmarks and later features use. */
export { type Credential, type CredentialLookup, findCredentials } from './auth/credentials.js';
export { RegistryClient } from './client.js';
export { openRegistryImage } from './image-source.js';
export type { RegistryOptions } from './options.js';
export {
  type PushedImage,
  type PushImageContent,
  type PushIndexContent,
  pushImage,
  pushIndex,
} from './push.js';
export { type ImageReference, parseReference } from './reference.js';
export type { Timeouts } from './transport/http.js';
export type { RetryOptions } from './transport/retry.js';
