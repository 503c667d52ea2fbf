import type { FileTree, TreeNode, WalkedNode } from './types.js';

/**
 * `FileTree.walk` for a tree that only has `children()`: the same order (a stack of each node's children,
 * so siblings come last name first), through TreeNodes. The compact model's trees walk their arrays
 * instead; this serves trees built another way.
 */
export function walkByChildren(tree: FileTree, visit: (node: WalkedNode) => boolean): void {
  const stack: { node: TreeNode; depth: number }[] = tree
    .children(tree.root)
    .map((node) => ({ node, depth: 1 }));
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    const walked: WalkedNode = {
      id: node.id,
      depth,
      type: node.entry.type,
      change: node.change,
      size: node.entry.size,
      layer: node.entry.layer,
      totalSize: node.totalSize,
      name: node.name,
      path: () => node.path,
    };
    if (visit(walked)) for (const child of tree.children(node)) stack.push({ node: child, depth: depth + 1 });
  }
}
