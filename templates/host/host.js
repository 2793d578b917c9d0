// The sample host page: fetch the widget list from PlanFuse's manifest and mount each one
// with the SDK. The token comes from this host's own backend (POST /planfuse-token).
(function () {
  const config = JSON.parse(document.getElementById('host-config').textContent);
  const main = document.getElementById('widgets');
  const nav = document.getElementById('widget-nav');
  window.planfuseHandles = {};
  window.planfuseReadyAt = {};

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
    // When each widget became ready, in ms since the page started (a host's own RUM would
    // record the same; tests/benchmarks/bench_embed.py reads it).
    handle.ready.then(() => {
      window.planfuseReadyAt[widget.name] = performance.now();
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
    if (widget.name === 'compliance') approvalForm(section, handle);
  }

  const TEXT = {
    waiting: '请先完成合规审查 · Run the compliance check first',
    checking: '正在后端验证审查结果…… · Verifying the result on the server…',
    blocked: '审查未通过，不能提交 · The check failed: the application is blocked',
    allowed: '审查结论已验证，可以提交 · Verified: the application may be submitted',
    refused: '审查结果未通过验证 · The result did not verify',
    filed: '已提交，申请编号 · Submitted, application',
  };

  // The approval form beside the compliance widget: its button follows what this host's
  // backend verified (POST /planfuse-result), never the verdict the browser reported.
  function approvalForm(section, handle) {
    const form = document.createElement('form');
    form.id = 'application-form';
    form.className = 'application';
    const report = document.createElement('input');
    report.type = 'hidden';
    report.name = 'report_id';
    report.id = 'application-report';
    const button = document.createElement('button');
    button.type = 'submit';
    button.id = 'application-submit';
    button.disabled = true;
    button.textContent = '提交审批 · Submit the application';
    const status = document.createElement('p');
    status.id = 'application-status';
    status.setAttribute('role', 'status');
    status.textContent = TEXT.waiting;
    form.append(report, button, status);
    section.insertBefore(form, section.querySelector('.events'));

    handle.on('result', async (result) => {
      button.disabled = true;
      status.textContent = TEXT.checking;
      const r = await fetch('/planfuse-result', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ signed_result: result.signed_result }),
      });
      const answer = await r.json();
      report.value = answer.report_id || '';
      button.disabled = !answer.may_submit;
      form.dataset.verdict = answer.verdict || 'refused';
      status.textContent = !r.ok ? `${TEXT.refused}: ${answer.error}` : answer.may_submit ? TEXT.allowed : TEXT.blocked;
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const r = await fetch('/applications', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ report_id: report.value }),
      });
      const answer = await r.json();
      status.textContent = r.ok ? `${TEXT.filed} ${answer.id}` : answer.error;
    });
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
