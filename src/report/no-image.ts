import type { Report } from './report.js';

/**
 * Whether the report describes an image: not when the reference named an index without one for the
 * platform (`reportWithoutImage`), whose sizes are zeros and whose digest is the index's — nothing to
 * deploy.
 */
export function imageSelected(report: Report): boolean {
  return report.platform !== '';
}

/** The platforms of the report's index, for saying what it has instead. */
export function indexPlatforms(report: Report): string {
  return report.index?.platforms.join(', ') || 'none';
}
