// Peak resident memory of this process. Linux keeps getrusage's maxrss across exec, so a child spawned by
// a process holding a gigabyte (the benchmark, with a blob in memory) would report that gigabyte as its
// own; VmHWM in /proc/self/status belongs to the address space exec created. Elsewhere: maxRSS.
import { readFileSync } from 'node:fs';

export function peakRssBytes() {
  try {
    const line = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (line) return Number(line[1]) * 1024;
  } catch {}
  return process.resourceUsage().maxRSS * 1024;
}
