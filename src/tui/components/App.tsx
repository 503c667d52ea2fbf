import { Box, type Key, Text, useApp, useInput } from 'ink';
import { useCallback, useSyncExternalStore } from 'react';
import { handleInput } from '../keymap.js';
import { helpHeight, layoutOf } from '../state/reducer.js';
import type { Action, TuiState } from '../state/state.js';
import type { Store } from '../store.js';
import type { Theme } from '../theme.js';
import { footerLines, headerLine, helpLines, helpTitle } from '../view-model/chrome.js';
import { detailLines } from '../view-model/details.js';
import {
  fileHeading,
  fileLines,
  filesPlaceholder,
  filesTitle,
  wasteHeading,
  wasteLines,
} from '../view-model/files.js';
import { layerLines, layerTitle } from '../view-model/layers.js';
import { type Line, line, seg } from '../view-model/lines.js';
import { LineView } from './LineView.js';
import { Pane } from './Pane.js';

function filesPaneLines(state: TuiState, width: number, height: number): Line[] {
  const { files } = state;
  const body = files.wasteView ? wasteLines(files, width, height - 1) : fileLines(files, width, height - 1);
  const heading = files.wasteView ? wasteHeading(width) : fileHeading(width);
  return body.length > 0 ? [heading, ...body] : [heading, line(seg(filesPlaceholder(state), 'dim'))];
}

/** The whole screen: a thin layout over the view model, which does the work. */
export function App({
  store,
  theme,
  suspend,
}: {
  store: Store<TuiState, Action>;
  theme: Theme;
  /** Ctrl+Z: ends this frame's drawing so that the terminal can be given back (index.tsx). */
  suspend: () => void;
}) {
  const state = useSyncExternalStore(store.subscribe, store.getState);
  const { exit } = useApp();

  const onKey = useCallback(
    (input: string, key: Key) => handleInput(input, key, store, { quit: exit, suspend }),
    [store, exit, suspend],
  );
  useInput(onKey);

  const layout = layoutOf(state);
  if (layout.tooSmall) {
    // Wrapped, not cut: in the narrowest terminals the size and how to quit are at the end.
    return (
      <Box width={layout.columns}>
        <Text>
          imgscope needs at least 60×12; this terminal is {state.viewport.columns}×{state.viewport.rows}. q
          quits.
        </Text>
      </Box>
    );
  }
  const { leftWidth, rightWidth, columns } = layout;
  const separator = `${'│\n'.repeat(layout.bodyHeight - 1)}│`;
  const details = detailLines(state, leftWidth).slice(state.detailsScroll);
  const help = helpLines(layout.columns);

  return (
    <Box flexDirection="column" width={columns} height={layout.rows}>
      <LineView line={headerLine(state, columns)} width={columns} theme={theme} />
      {state.help ? (
        <Pane
          title={helpTitle(help.length > helpHeight(layout))}
          focused
          width={columns}
          height={helpHeight(layout)}
          lines={help.slice(state.helpScroll)}
          theme={theme}
        />
      ) : (
        <Box flexDirection="row" height={layout.bodyHeight}>
          <Box flexDirection="column" width={leftWidth}>
            <Pane
              title={layerTitle(state, leftWidth)}
              focused={state.focus === 'layers'}
              width={leftWidth}
              height={layout.layersHeight}
              lines={layerLines(state, layout.layersHeight, leftWidth)}
              theme={theme}
            />
            <Pane
              title="Details"
              focused={state.focus === 'details'}
              width={leftWidth}
              height={layout.detailsHeight}
              lines={details}
              theme={theme}
            />
          </Box>
          <Text dimColor>{separator}</Text>
          <Pane
            title={filesTitle(state, rightWidth - 2)}
            focused={state.focus === 'files'}
            width={rightWidth}
            height={layout.bodyHeight - 1}
            lines={filesPaneLines(state, rightWidth, layout.filesHeight + 1)}
            theme={theme}
          />
        </Box>
      )}
      {footerLines(state, columns).map((footer, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the footer has two fixed lines
        <LineView key={i} line={footer} width={columns} theme={theme} />
      ))}
    </Box>
  );
}
