import type { Report } from './report.js';

/**
 * Whether the report describes an image: not when the reference named an index without one for the
 * platform (`reportWithoutImage`), whose sizes are zeros and whose digest is the index's — nothing to
 * deploy.
 */
export function imageSelected(report: Report): boolean {
  return report.platform !== '';
}

/** How many of an index's platforms a line names: an index may list thousands (`--json` has them all). */
const SHOWN_PLATFORMS = 20;

/** The platforms of the report's index, each once and at most SHOWN_PLATFORMS, for a line of text. */
export function indexPlatforms(report: Report): string {
  const distinct = [...new Set(report.index?.platforms ?? [])];
  if (distinct.length === 0) return 'none';
  const more = distinct.length - SHOWN_PLATFORMS;
  const named = distinct.slice(0, SHOWN_PLATFORMS).join(', ');
  return more > 0 ? `${named} and ${more} more` : named;
}
