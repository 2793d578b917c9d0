// Icons the widgets draw as inline SVG (built with DOM APIs, coloured by `currentColor`), so
// they look the same on every machine: an emoji such as 🔒 draws as an empty box where no
// emoji font is installed, as on many office and server desktops.
import { svg } from './dom.js';

/** A padlock (shackle and body), 1em square, hidden from screen readers (the text beside it says it). */
export function lockIcon() {
  return svg(
    'svg',
    { class: 'pf-icon pf-lock-icon', viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true', focusable: 'false' },
    svg('path', { d: 'M5 7.5V5a3 3 0 0 1 6 0v2.5', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.8, 'stroke-linecap': 'round' }),
    svg('rect', { x: 2.5, y: 7, width: 11, height: 8, rx: 1.5, fill: 'currentColor' }),
  );
}
