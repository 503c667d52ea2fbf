import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A host off this machine, as far as a client on it can tell: a network namespace of the test's own,
 * reached from this one through a veth pair on a link-local /30. Test traffic goes there or to loopback,
 * never to this machine's own interface addresses. Needs root and iproute2.
 */
export interface NamespacedHost {
  namespace: string;
  /** The namespace's end of the link: where its servers listen and what clients here connect to. */
  address: string;
  /** Starts `command` (an argv) inside the namespace; `close` ends it if it is still running. */
  spawn(command: string[]): ChildProcessWithoutNullStreams;
  /** Ends what runs inside, deletes the namespace and both ends of the link. Safe to call twice. */
  close(): void;
}

export type HostAvailability = { host: NamespacedHost } | { unavailable: string };

const IP = '/usr/sbin/ip';
let opened = 0;

function ip(...args: string[]): void {
  execFileSync(IP, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function firstLine(error: unknown): string {
  const { stderr, message } = error as { stderr?: Buffer; message?: string };
  return (stderr?.toString().trim() || message || String(error)).split('\n')[0]!;
}

/**
 * A free link-local /30 (169.254.0.0/16, leaving out the first and last /24 that RFC 3927 reserves and
 * 169.254.169.0/24 where cloud metadata services live), picked from the process id so that concurrent
 * runs on one machine start apart, and stepped past any address already on an interface here.
 */
function freeLinkLocalPair(): [hostSide: string, namespaceSide: string] {
  const used = new Set(
    execFileSync(IP, ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' })
      .split('\n')
      .flatMap((line) => /\binet (169\.254\.\d+\.\d+)\//.exec(line)?.[1] ?? []),
  );
  const thirdOctets = Array.from({ length: 254 }, (_, i) => i + 1).filter((octet) => octet !== 169);
  const slots = thirdOctets.length * 64;
  for (let step = 0; step < slots; step++) {
    const slot = (process.pid + opened + step) % slots;
    const prefix = `169.254.${thirdOctets[Math.floor(slot / 64)]}`;
    const base = (slot % 64) * 4;
    const block = [0, 1, 2, 3].map((offset) => `${prefix}.${base + offset}`);
    if (!block.some((address) => used.has(address))) return [block[1]!, block[2]!];
  }
  throw new Error('no free /30 in 169.254.0.0/16');
}

/**
 * Creates the namespace (`imgscope-PID-N`), the veth pair and the addresses, with `lo` and both link
 * ends up. Synchronous, so a test file can decide at collection whether its off-host cases run; the
 * namespace is deleted on `close` or, failing that, when this process exits.
 */
export function openNamespacedHost(): HostAvailability {
  if (process.getuid?.() !== 0) return { unavailable: 'network namespaces need root' };
  if (!existsSync(IP)) return { unavailable: `${IP} is missing (apt-get install iproute2)` };
  const n = ++opened;
  const namespace = `imgscope-${process.pid}-${n}`;
  // Interface names are at most 15 characters.
  const hostLink = `is${process.pid}h${n}`;
  const peerLink = `is${process.pid}n${n}`;
  try {
    ip('netns', 'add', namespace);
  } catch (error) {
    return { unavailable: `ip netns add failed: ${firstLine(error)}` };
  }
  const children = new Set<ChildProcessWithoutNullStreams>();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    process.off('exit', close);
    for (const child of children) child.kill('SIGKILL');
    for (const args of [
      ['link', 'del', hostLink],
      ['netns', 'del', namespace],
    ]) {
      try {
        ip(...args);
      } catch {
        // Already gone: deleting the host end of a veth pair deletes both ends.
      }
    }
  };
  process.on('exit', close);
  try {
    const [hostAddress, address] = freeLinkLocalPair();
    ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', peerLink, 'netns', namespace);
    ip('addr', 'add', `${hostAddress}/30`, 'dev', hostLink);
    ip('link', 'set', hostLink, 'up');
    ip('-n', namespace, 'addr', 'add', `${address}/30`, 'dev', peerLink);
    ip('-n', namespace, 'link', 'set', peerLink, 'up');
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
    const host: NamespacedHost = {
      namespace,
      address,
      spawn: (command) => {
        const child = spawn(IP, ['netns', 'exec', namespace, ...command], { stdio: 'pipe' });
        children.add(child);
        child.on('exit', () => children.delete(child));
        return child;
      },
      close,
    };
    return { host };
  } catch (error) {
    close();
    return { unavailable: `setting up ${namespace} failed: ${firstLine(error)}` };
  }
}
