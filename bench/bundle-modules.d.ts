export const EXPLORER_MODULE: RegExp;
export function bundleMetafile(root: string): {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
};
export function modulesLoaded(urls: readonly string[], root: string): string[];
