/**
 * Loads Ink and the App for a terminal session.
 *
 * Ink decides once, when its module is first evaluated, whether it runs "in CI" (CI or
 * CONTINUOUS_INTEGRATION set, via is-in-ci) and then draws no frame until exit. The TUI only starts
 * when stdout is a TTY — a person is looking — so those variables are hidden while Ink loads.
 */
export async function loadInk() {
  const hidden = ['CI', 'CONTINUOUS_INTEGRATION'] as const;
  const saved = hidden.map((name) => [name, process.env[name]] as const);
  for (const name of hidden) delete process.env[name];
  try {
    const [ink, app] = await Promise.all([import('ink'), import('./components/App.js')]);
    return { render: ink.render, App: app.App };
  } finally {
    for (const [name, value] of saved) if (value !== undefined) process.env[name] = value;
  }
}
