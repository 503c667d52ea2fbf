import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildReport } from '../../src/report/build-report.js';
import { createTuiStore } from '../../src/tui/index.js';
import { registryWaitCountdown } from '../../src/tui/registry-wait.js';
import { headerLine } from '../../src/tui/view-model/chrome.js';
import { lineText } from '../../src/tui/view-model/lines.js';
import { fakeSource } from './fake-source.js';

function setUp(reference?: string) {
  const source = fakeSource(['FROM base', 'RUN edit'], reference);
  const store = createTuiStore(source, (analysis) => buildReport(source, analysis), {
    columns: 100,
    rows: 30,
  });
  const changes = { count: 0 };
  store.subscribe(() => changes.count++);
  const header = () => lineText(headerLine(store.getState(), 100));
  return { countdown: registryWaitCountdown(store.dispatch), header, changes };
}

describe('a wait the registry asks for (Retry-After), in the header', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts down once a second, and goes once over', () => {
    const { countdown, header, changes } = setUp();
    countdown.show({ host: 'registry.test', status: 429, ms: 2500 });
    expect(header()).toContain('registry 429: waiting 3 s');
    vi.advanceTimersByTime(499);
    expect(header()).toContain('waiting 3 s');
    vi.advanceTimersByTime(1);
    expect(header()).toContain('waiting 2 s');
    vi.advanceTimersByTime(1000);
    expect(header()).toContain('waiting 1 s');
    vi.advanceTimersByTime(999);
    expect(header()).toContain('waiting 1 s');
    vi.advanceTimersByTime(1);
    expect(header()).not.toContain('waiting');
    // A redraw for each change, no more: shown, 2, 1, over.
    expect(changes.count).toBe(4);
  });

  it('keeps counting the longer wait when a shorter one is asked for meanwhile', () => {
    const { countdown, header } = setUp();
    countdown.show({ host: 'registry.test', status: 429, ms: 5000 });
    vi.advanceTimersByTime(1000);
    countdown.show({ host: 'registry.test', status: 503, ms: 1000 });
    expect(header()).toContain('registry 429: waiting 4 s');
    vi.advanceTimersByTime(1000);
    expect(header()).toContain('registry 429: waiting 3 s');
    countdown.show({ host: 'registry.test', status: 503, ms: 10_000 });
    expect(header()).toContain('registry 503: waiting 10 s');
    vi.advanceTimersByTime(9000);
    expect(header()).toContain('registry 503: waiting 1 s');
    countdown.stop();
    vi.advanceTimersByTime(5000);
    expect(header()).toContain('registry 503: waiting 1 s');
  });

  it('names the host that asked when it is not the registry (the blob storage a download was sent to)', () => {
    const { countdown, header } = setUp();
    countdown.show({ host: 'blobs.storage.test', status: 503, ms: 2000 });
    expect(header()).toContain('blobs.storage.test 503: waiting 2 s');
    expect(header()).not.toContain('registry 503');
    countdown.stop();
  });

  it("calls Docker Hub's API host the registry: the reference names it docker.io", () => {
    const { countdown, header } = setUp('docker.io/library/alpine:3.20');
    countdown.show({ host: 'registry-1.docker.io', status: 429, ms: 2000 });
    expect(header()).toContain('registry 429: waiting 2 s');
    countdown.stop();
  });
});
