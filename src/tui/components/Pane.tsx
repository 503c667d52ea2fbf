import { Box, Text } from 'ink';
import { printable } from '../../report/format.js';
import { fitLeft } from '../format.js';
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
  // Fitted by columns: cut by UTF-16 units, a CJK or emoji title overflowed (Ink cut its count) or split
  // an emoji.
  const heading = fitLeft(`${focused ? '▶' : ' '} ${printable(title)}`, width);
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
