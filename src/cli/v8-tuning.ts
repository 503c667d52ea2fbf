import { setFlagsFromString } from 'node:v8';

/** V8 flags for a command-line run; set before any registry request or layer stream starts. */
export function tuneV8ForCli(): void {
  /**
   * Layers stream through as short-lived Buffers — network reads, joined decoder input, inflated output —
   * gigabytes of them on a big image. V8 frees a dead Buffer's memory on a background sweeper thread, and
   * on two busy cores (inflating, hashing, a local registry) that sweeper falls behind: memory counted as
   * still in use climbs until V8 forces a full collection, a hundred of them on a 1.2 GB layer (0.9 s of
   * the main thread). Sweeping on the main thread right after each scavenge keeps the count honest: 100
   * full collections become about 25, and `check` of that layer from a registry takes 3.3 s, not 4.7 s.
   */
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
  /**
   * undici parses HTTP in WebAssembly (llhttp). V8 recompiles a wasm function with TurboFan, on a
   * background thread, once it has run enough; for llhttp that happens near the end of a short command,
   * and Node waits for background compiles before it exits: 60–90 ms added to every `check` that
   * stopped at the registry or the cache. Tiering up at the first call starts that compile during the
   * first request, where it overlaps the network round trips instead of delaying the exit.
   */
  setFlagsFromString('--wasm-tiering-budget=1');
}
