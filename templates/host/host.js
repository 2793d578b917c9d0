// The sample host page: fetch the widget list from PlanFuse's manifest and mount each one
// with the SDK. The token comes from this host's own backend (POST /planfuse-token).
(function () {
  const config = JSON.parse(document.getElementById('host-config').textContent);
  const main = document.getElementById('widgets');
  const nav = document.getElementById('widget-nav');
  window.planfuseHandles = {};

  function tokenFor(widget) {
    return () =>
      fetch('/planfuse-token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ widget }),
        credentials: 'same-origin',
      })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`token endpoint: HTTP ${r.status}`))))
        .then((j) => j.token);
  }

  function mount(widget) {
    const section = document.createElement('section');
    section.id = `section-${widget.name}`;
    const h2 = document.createElement('h2');
    h2.textContent = widget.title[config.locale] || widget.title['zh-CN'];
    const box = document.createElement('div');
    box.id = `widget-${widget.name}`;
    const log = document.createElement('ol');
    log.className = 'events';
    log.id = `events-${widget.name}`;
    section.append(h2, box, log);
    main.appendChild(section);
    const a = document.createElement('a');
    a.href = `#section-${widget.name}`;
    a.textContent = h2.textContent;
    nav.appendChild(a);

    const handle = window.PlanFuse.mount(box, {
      widget: widget.name,
      app: config.app_id,
      locale: config.locale,
      token: tokenFor(widget.name),
    });
    const names = ['ready', 'resize', 'error', ...Object.keys(widget.events || {})];
    for (const name of names) {
      handle.on(name, (payload) => {
        const li = document.createElement('li');
        li.dataset.event = name;
        li.textContent = `${name} ${JSON.stringify(payload)}`;
        log.prepend(li);
      });
    }
    window.planfuseHandles[widget.name] = handle;
  }

  fetch(`${config.server}/embed/manifest.json`)
    .then((r) => r.json())
    .then((manifest) => {
      const widgets = Object.values(manifest.widgets).filter((w) => !config.only || w.name === config.only);
      if (!widgets.length) main.textContent = '服务器上没有已注册的组件 · No widget is registered on the server.';
      widgets.forEach(mount);
    })
    .catch((e) => {
      main.textContent = `无法读取组件清单 · Cannot read the widget manifest: ${e.message}`;
    });
})();
