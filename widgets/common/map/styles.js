// OpenLayers styles for the plain style specs of map-model.js: data layers by kind, overlays
// by preset, labels, the highlight, hatch patterns and point symbols. Styles are cached per
// class: a style function runs for every feature on every frame.
import { Circle as CircleStyle, Fill, RegularShape, Stroke, Style, Text } from 'ol/style.js';
import { HIGHLIGHT, OVERLAY_PRESETS, styleSpec } from '../map-model.js';

const patterns = new Map();
function hatchPattern(kind, color) {
  const key = `${kind}|${color}`;
  if (patterns.has(key)) return patterns.get(key);
  const size = 10;
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  g.strokeStyle = color;
  g.fillStyle = color;
  g.lineWidth = 1;
  g.beginPath();
  if (kind === 'dots') g.arc(size / 2, size / 2, 1.1, 0, 2 * Math.PI);
  if (kind === 'diagonal' || kind === 'cross') {
    g.moveTo(0, size);
    g.lineTo(size, 0);
    g.moveTo(-size / 2, size / 2);
    g.lineTo(size / 2, -size / 2);
    g.moveTo(size / 2, size * 1.5);
    g.lineTo(size * 1.5, size / 2);
  }
  if (kind === 'cross') {
    g.moveTo(0, 0);
    g.lineTo(size, size);
  }
  if (kind === 'horizontal') {
    g.moveTo(0, size / 2);
    g.lineTo(size, size / 2);
  }
  if (kind === 'vertical') {
    g.moveTo(size / 2, 0);
    g.lineTo(size / 2, size);
  }
  if (kind === 'dots') g.fill();
  else g.stroke();
  const pattern = g.createPattern(canvas, 'repeat');
  patterns.set(key, pattern);
  return pattern;
}

const SHAPES = {
  triangle: { points: 3, angle: 0 },
  square: { points: 4, angle: Math.PI / 4 },
  diamond: { points: 4, angle: 0 },
  pentagon: { points: 5, angle: 0 },
  hexagon: { points: 6, angle: 0 },
};

function pointImage(point, scale = 1) {
  const fill = new Fill({ color: point.fill });
  const stroke = new Stroke({ color: point.stroke || '#fff', width: 1.5 });
  const radius = point.radius * scale;
  const shape = SHAPES[point.shape];
  return shape ? new RegularShape({ fill, stroke, points: shape.points, angle: shape.angle, radius: radius * 1.2 }) : new CircleStyle({ fill, stroke, radius });
}

/** OpenLayers styles for a spec from map-model.js (without the label text). */
export function olStyles(spec) {
  const styles = [];
  if (spec.casing) styles.push(new Style({ stroke: new Stroke({ color: spec.casing.color, width: spec.casing.width }), zIndex: 0 }));
  if (spec.point) {
    const text = spec.point.glyph ? new Text({ text: spec.point.glyph, font: 'bold 9px sans-serif', fill: new Fill({ color: '#fff' }) }) : undefined;
    styles.push(new Style({ image: pointImage(spec.point), text, zIndex: 2 }));
    return styles;
  }
  styles.push(
    new Style({
      fill: spec.fill ? new Fill({ color: spec.fill }) : undefined,
      stroke: spec.stroke ? new Stroke({ color: spec.stroke, width: spec.width, lineDash: spec.dash || undefined }) : undefined,
      zIndex: 1,
    }),
  );
  if (spec.hatch) styles.push(new Style({ fill: new Fill({ color: hatchPattern(spec.hatch, spec.stroke || '#555') }), zIndex: 1 }));
  return styles;
}

export function labelStyle(text, { color = '#222', font = '12px sans-serif', placement = 'point' } = {}) {
  return new Style({
    text: new Text({ text, font, placement, fill: new Fill({ color }), stroke: new Stroke({ color: 'rgba(255,255,255,0.9)', width: 3 }), overflow: false }),
    zIndex: 3,
  });
}

export function highlightStyles(geometryType) {
  if (geometryType === 'Point' || geometryType === 'MultiPoint') {
    return [new Style({ image: new CircleStyle({ radius: 11, stroke: new Stroke({ color: HIGHLIGHT.stroke, width: 3 }), fill: new Fill({ color: 'rgba(255,179,0,0.25)' }) }), zIndex: 10 })];
  }
  return [
    new Style({ stroke: new Stroke({ color: HIGHLIGHT.halo, width: HIGHLIGHT.width + 4 }), zIndex: 10 }),
    new Style({ stroke: new Stroke({ color: HIGHLIGHT.stroke, width: HIGHLIGHT.width }), zIndex: 11 }),
  ];
}

/** A style function for a data layer of `kind`; OL styles are cached per class. */
export function layerStyle(kind, part = 'all') {
  const cache = new Map();
  return (feature) => {
    const props = feature.getProperties();
    let spec = styleSpec(kind, props);
    if (part === 'fill') spec = { ...spec, stroke: null };
    else if (part === 'outline') spec = { ...spec, fill: null, hatch: null };
    let styles = cache.get(spec.key);
    if (!styles) {
      styles = olStyles(spec);
      cache.set(spec.key, styles);
    }
    return styles;
  };
}

/** An overlay's spec: a preset name, a spec object, or a function of the properties. */
function overlaySpec(style, props) {
  const chosen = typeof style === 'function' ? style(props) : style;
  const spec = typeof chosen === 'string' ? OVERLAY_PRESETS[chosen] : chosen;
  return { ...OVERLAY_PRESETS.default, ...(spec || {}) };
}

export function overlayStyle(entry) {
  return (feature) => {
    const props = feature.getProperties();
    const spec = overlaySpec(entry.style, props);
    const type = feature.getGeometry() ? feature.getGeometry().getType() : '';
    let styles;
    if (type === 'Point' || type === 'MultiPoint') {
      styles = [new Style({ image: new CircleStyle({ radius: 7, fill: new Fill({ color: spec.stroke }), stroke: new Stroke({ color: '#fff', width: 2 }) }) })];
    } else {
      styles = olStyles({ ...spec, casing: null, point: null });
    }
    if (spec.label && props[spec.label] !== undefined && props[spec.label] !== null) {
      styles = [...styles, labelStyle(String(props[spec.label]), { font: 'bold 13px sans-serif', color: spec.stroke })];
    }
    if (entry.highlighted !== null && String(feature.getId()) === entry.highlighted) styles = [...styles, ...highlightStyles(type)];
    return styles;
  };
}
