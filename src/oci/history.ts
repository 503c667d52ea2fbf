import type { ImageConfig } from './types.js';

/**
 * The `created_by` of each layer: history entries that made no layer (`empty_layer`: ENV, CMD, EXPOSE…)
 * are skipped so the rest line up with the layers, base first. '' where the history is shorter.
 */
export function layerCommands(config: ImageConfig, layerCount: number): string[] {
  const commands = (config.history ?? [])
    .filter((entry) => !entry.empty_layer)
    .map((entry) => entry.created_by ?? '');
  return Array.from({ length: layerCount }, (_, index) => commands[index] ?? '');
}
