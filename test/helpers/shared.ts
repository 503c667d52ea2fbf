import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `../shared` beside the checkout: read-only peer material that CI has and a plain clone may not. */
export const sharedDir = resolve(projectRoot, '..', 'shared');
export const peerImagesDir = join(sharedDir, 'peer-images', 'dive');
export const hasPeerImages = existsSync(peerImagesDir);

let announced = false;
/** Call at the top of a test file that reads peer images: prints why its tests are skipped. */
export function announcePeerImages(): boolean {
  if (!hasPeerImages && !announced) {
    announced = true;
    console.warn(`skipping peer-image tests: ${peerImagesDir} is absent (it sits beside the checkout in CI)`);
  }
  return hasPeerImages;
}

export function peerImage(name: string): string {
  return join(peerImagesDir, name);
}

export function fixture(...parts: string[]): string {
  return join(projectRoot, 'fixtures', ...parts);
}
