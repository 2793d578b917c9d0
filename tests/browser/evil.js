// A hostile frame: it tries to start the handshake with the host page's SDK, to inject
// events into it, and to connect to the widget frame with its own port.
(function () {
  window.received = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => window.received.push(e.data);
  function attack() {
    parent.postMessage({ planfuse: 1, type: 'hello', widget: 'probe' }, '*');
    parent.postMessage({ planfuse: 1, type: 'event', name: 'fake', payload: { from: location.origin } }, '*');
    parent.postMessage({ planfuse: 1, type: 'event', name: 'ready', payload: { widget: 'evil' } }, '*');
    for (let i = 0; i < parent.frames.length; i += 1) {
      if (parent.frames[i] === window) continue;
      try {
        const c = new MessageChannel();
        c.port1.onmessage = (e) => window.received.push(e.data);
        parent.frames[i].postMessage({ planfuse: 1, type: 'connect' }, '*', [c.port2]);
        parent.frames[i].postMessage({ planfuse: 1, type: 'token', token: 'evil' }, '*');
      } catch (e) {
        window.received.push({ error: String(e) });
      }
    }
  }
  attack();
  window.attacks = 1;
  setInterval(() => {
    attack();
    window.attacks += 1;
  }, 200);
})();
