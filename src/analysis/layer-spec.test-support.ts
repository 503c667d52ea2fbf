import { StringTable } from './layer-items.js';
import { PathTable } from './paths.js';
import { type EntryHeader, LayerItemsWriter } from './tar-entries.js';
import type { FileTree, TreeNode } from './types.js';

/**
 * A tar entry in one line: `dir/`, `file` or `file:SIZE`, `link -> target` (symlink), `link => target`
 * (hardlink), `x/.wh.name` (whiteout), `dir/.wh..wh..opq` (opaque marker), `file:SIZE@MODE`.
 */
export function headerOf(spec: string): EntryHeader {
  const symlink = /^(.*) -> (.*)$/.exec(spec);
  if (symlink) return { name: symlink[1]!, type: 'symlink', linkname: symlink[2]! };
  const hardlink = /^(.*) => (.*)$/.exec(spec);
  if (hardlink) return { name: hardlink[1]!, type: 'link', linkname: hardlink[2]! };
  const file = /^(.*?)(?::(\d+))?(?:@([0-7]+))?$/.exec(spec)!;
  const name = file[1]!;
  const isDir = name.endsWith('/');
  return {
    name,
    type: isDir ? 'directory' : 'file',
    size: Number(file[2] ?? 0),
    mode: file[3] ? Number.parseInt(file[3], 8) : isDir ? 0o755 : 0o644,
  };
}

/** Layers given as entry specs, parsed into items over one PathTable. */
export function layersOf(layers: readonly (readonly string[])[]) {
  const paths = new PathTable();
  const links = new StringTable();
  const parsed = layers.map((specs) => {
    const writer = new LayerItemsWriter({ paths, links });
    for (const spec of specs) writer.add(headerOf(spec));
    return writer;
  });
  return { paths, links, layers: parsed };
}

/** Every node of a tree, depth first in the tree's order, as `path type total change` lines. */
export function listing(tree: FileTree, node: TreeNode = tree.root): string[] {
  const lines: string[] = [];
  for (const child of tree.children(node)) {
    const link = child.entry.linkTarget === undefined ? '' : ` -> ${child.entry.linkTarget}`;
    lines.push(`${child.path}${link} ${child.entry.type} ${child.totalSize} ${child.change}`);
    lines.push(...listing(tree, child));
  }
  return lines;
}
