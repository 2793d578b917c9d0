// The map by keyboard, on top of OpenLayers' own (arrows pan, + and − zoom): Enter
// identifies the feature at the centre or adds a vertex at the centre while sketching,
// Shift+Enter finishes, Backspace removes a vertex, Escape closes the popup or cancels, and
// '=' zooms in like '+'. Returns a function that stops listening.
export function bindKeyboard(map, { element, canvasHost, identify, sketching }) {
  const view = map.getView();

  function centerPixel() {
    const size = map.getSize() || [0, 0];
    return [size[0] / 2, size[1] / 2];
  }

  function onKey(event) {
    if (event.target !== canvasHost) {
      if (event.key === 'Escape' && identify.close({ restoreFocus: true })) event.preventDefault();
      return;
    }
    if (event.key === 'Escape') {
      if (identify.close()) event.preventDefault();
      else if (sketching.active()) {
        sketching.cancel();
        event.preventDefault();
      }
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (!sketching.active()) identify.at(centerPixel(), { byKey: true });
      else if (event.shiftKey || event.ctrlKey) sketching.finish();
      else sketching.addPoint(view.getCenter().slice());
    } else if ((event.key === 'Backspace' || event.key === 'Delete') && sketching.active()) {
      event.preventDefault();
      sketching.removeLastPoint();
    } else if (event.key === '=' && !event.ctrlKey && !event.metaKey) {
      // '+' without Shift on most keyboards; OpenLayers itself reads only '+' and '-'.
      event.preventDefault();
      view.animate({ zoom: view.getZoom() + 1, duration: 100 });
    }
  }

  element.addEventListener('keydown', onKey);
  return () => element.removeEventListener('keydown', onKey);
}
