// Preloaded into the CLI under test (`node --require`): on exit, writes the process's peak resident set
// size in bytes to the file IMGSCOPE_TEST_PEAK_RSS_FILE names. Node is one process (zlib's threads
// included), so this is the whole cost of a run.
const { writeFileSync } = require('node:fs');

const target = process.env.IMGSCOPE_TEST_PEAK_RSS_FILE;
if (target) {
  process.on('exit', () => {
    try {
      writeFileSync(target, String(process.resourceUsage().maxRSS * 1024));
    } catch {}
  });
}
