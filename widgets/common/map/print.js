// The map on paper and as a picture: the layer canvases composed into one PNG with the
// scale bar (toImage, for a widget's own print layout), and a still image that replaces the
// live canvas while the browser prints.

/** toImage() waits at most this long for tiles still loading. */
const IMAGE_WAIT_MS = 5000;

/** The map as one canvas (white background); throws if a basemap tainted it. */
function composeCanvas(map) {
  const size = map.getSize();
  if (!size) return null;
  const ratio = Math.max(1, window.devicePixelRatio || 1);
  const out = document.createElement('canvas');
  out.width = Math.round(size[0] * ratio);
  out.height = Math.round(size[1] * ratio);
  const g = out.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, out.width, out.height);
  for (const canvas of map.getViewport().querySelectorAll('.ol-layer canvas, canvas.ol-layer')) {
    if (!canvas.width) continue;
    const opacity = canvas.parentNode.style.opacity || canvas.style.opacity;
    g.globalAlpha = opacity === '' ? 1 : Number(opacity);
    // Each layer canvas carries the transform from its pixels to CSS pixels.
    const match = canvas.style.transform.match(/^matrix\(([^(]*)\)$/);
    const m = match
      ? match[1].split(',').map(Number)
      : [parseFloat(canvas.style.width) / canvas.width || 1 / ratio, 0, 0, parseFloat(canvas.style.height) / canvas.height || 1 / ratio, 0, 0];
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.transform(m[0], m[1], m[2], m[3], m[4], m[5]);
    g.drawImage(canvas, 0, 0);
  }
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.globalAlpha = 1;
  drawScaleBar(map, g, size);
  g.setTransform(1, 0, 0, 1, 0, 0);
  return out;
}

/** The scale line, as the screen shows it, drawn into an image (bottom left). */
function drawScaleBar(map, g, size) {
  const inner = map.getViewport().querySelector('.ol-scale-line-inner');
  const width = inner ? inner.offsetWidth : 0;
  if (!width) return;
  const x = 12;
  const y = size[1] - 14;
  g.fillStyle = 'rgba(255,255,255,0.85)';
  g.fillRect(x - 6, y - 22, width + 12, 30);
  g.strokeStyle = '#000';
  g.lineWidth = 1.5;
  g.beginPath();
  g.moveTo(x, y - 6);
  g.lineTo(x, y);
  g.lineTo(x + width, y);
  g.lineTo(x + width, y - 6);
  g.stroke();
  g.fillStyle = '#000';
  g.font = '12px sans-serif';
  g.textAlign = 'center';
  g.fillText(inner.textContent, x + width / 2, y - 6);
}

function imageNow(map) {
  try {
    const canvas = composeCanvas(map);
    return canvas ? canvas.toDataURL('image/png') : null;
  } catch {
    return null; // tainted by a basemap without CORS: print the live canvases instead
  }
}

/**
 * Printing `map`: `printImage` (an <img> in `element`) shows the still image while the page
 * prints. Returns {toImage() → Promise of a PNG data URL (null when it cannot be read),
 * dispose()}.
 */
export function createPrinting(map, { element, printImage }) {
  /** A PNG data URL of the map once its tiles have loaded (null if it cannot be read). */
  function toImage() {
    return new Promise((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve(imageNow(map));
      };
      map.once('rendercomplete', finish);
      setTimeout(finish, IMAGE_WAIT_MS);
      map.render();
    });
  }

  function beforePrint() {
    const url = imageNow(map);
    if (!url) return;
    printImage.src = url;
    element.classList.add('pf-map-printing');
  }
  function afterPrint() {
    element.classList.remove('pf-map-printing');
    printImage.removeAttribute('src');
  }
  window.addEventListener('beforeprint', beforePrint);
  window.addEventListener('afterprint', afterPrint);
  function dispose() {
    window.removeEventListener('beforeprint', beforePrint);
    window.removeEventListener('afterprint', afterPrint);
  }
  return { toImage, dispose };
}
