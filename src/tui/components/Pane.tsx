import { Box, Text } from 'ink';
import { printable } from '../../report/format.js';
import type { Theme } from '../theme.js';
import type { Line } from '../view-model/lines.js';
import { LineView } from './LineView.js';

interface PaneProps {
  title: string;
  focused: boolean;
  width: number;
  /** Rows below the title. */
  height: number;
  lines: readonly Line[];
  theme: Theme;
}

/**
 * A titled block of fixed size. The focused pane's title is inverted and marked with ▶, so focus reads
 * without colour.
 */
export function Pane({ title, focused, width, height, lines, theme }: PaneProps) {
  const heading = `${focused ? '▶' : ' '} ${printable(title)}`.slice(0, width).padEnd(width);
  return (
    <Box flexDirection="column" width={width} height={height + 1}>
      <Text wrap="truncate" inverse={focused} bold underline={!focused}>
        {heading}
      </Text>
      {lines.slice(0, height).map((line, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are positions in a window that scrolls
        <LineView key={i} line={line} width={width} theme={theme} />
      ))}
    </Box>
  );
}
