import { Text } from 'ink';
import type { Theme } from '../theme.js';
import { fitLine, type Line } from '../view-model/lines.js';

/** One line of a pane, cut or padded to `width` so panes never wrap into each other. */
export function LineView({ line, width, theme }: { line: Line; width: number; theme: Theme }) {
  const fitted = fitLine(line, width);
  // Ink gives a Text with no characters no height at all: an empty line would vanish, not show as blank.
  if (fitted.segments.every((segment) => segment.text === '')) return <Text> </Text>;
  return (
    <Text wrap="truncate" inverse={line.selected}>
      {fitted.segments.map((segment, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: segments have no identity beyond their place
        <Text key={i} {...theme.props(segment.role)}>
          {segment.text}
        </Text>
      ))}
    </Text>
  );
}
