// Test host page script (served by the browser tests' host app): mounts the probe widget
// the way a host does, and records everything for the test to read.
(function () {
  const config = JSON.parse(document.getElementById('rig-config').textContent);
  window.events = [];
  window.tokenCalls = 0;
  const token =
    config.mode === 'string'
      ? config.token
      : () => {
          window.tokenCalls += 1;
          return fetch('/t/token', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(config.claims || {}),
          })
            .then((r) => r.json())
            .then((j) => j.token);
        };
  if (config.mode === 'declarative') return; // the page's markup mounts itself
  const handle = window.PlanFuse.mount(document.getElementById('slot'), {
    widget: config.widget,
    app: config.app_id,
    token,
    locale: config.locale,
    params: config.params || {},
    theme: config.theme || {},
    server: config.server,
  });
  // A widget's own events are recorded when the test names them in config.events.
  for (const name of ['ready', 'resize', 'error', 'lines-changed', 'fake', 'result', ...(config.events || [])]) {
    handle.on(name, (payload) => {
      if (name === 'ready' && window.readyAt === undefined) window.readyAt = performance.now();
      window.events.push({ name, payload });
    });
  }
  window.handle = handle;
})();
