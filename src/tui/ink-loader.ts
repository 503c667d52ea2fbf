/**
 * Loads React, Ink and the App for a terminal session, with the environment they read once, at load:
 * - React picks its development build unless NODE_ENV is "production", and the development build
 *   (checks, owner stacks, performance marks on every render) triples the cost of a frame;
 * - Ink draws no frame until exit when CI or CONTINUOUS_INTEGRATION is set (is-in-ci), and chalk turns
 *   colour off under CI. The TUI only starts when stdout is a TTY, where a person is looking.
 * The variables are set only while the modules load, then put back.
 */
export async function loadInk() {
  const overrides: Record<string, string | undefined> = {
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    CI: undefined,
    CONTINUOUS_INTEGRATION: undefined,
  };
  const saved = Object.keys(overrides).map((name) => [name, process.env[name]] as const);
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    const [react, ink, app] = await Promise.all([
      import('react'),
      import('ink'),
      import('./components/App.js'),
    ]);
    // React is CommonJS: `default` is its exports object under Node and in the bundle alike (where the
    // named exports Node infers for CommonJS do not exist).
    return { createElement: react.default.createElement, render: ink.render, App: app.App };
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
