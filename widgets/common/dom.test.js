// @vitest-environment jsdom
import { describe as suite, expect, it } from 'vitest';
import { $, clearInvalid, describe, el, svg, table } from './dom.js';

suite('el', () => {
  it('makes an element with a class and text', () => {
    const node = el('span', 'pf-x', '城镇');
    expect(node.outerHTML).toBe('<span class="pf-x">城镇</span>');
    expect(el('p', null, null).outerHTML).toBe('<p></p>');
    expect(el('td', '', 0).textContent).toBe('0');
  });
});

suite('$', () => {
  it('finds an element by id, null when there is none', () => {
    document.body.innerHTML = '<p id="here">x</p>';
    expect($('here').textContent).toBe('x');
    expect($('nowhere')).toBeNull();
  });
});

suite('svg', () => {
  it('makes SVG elements with attributes and children, leaving out empty attributes', () => {
    const node = svg('svg', { viewBox: '0 0 4 4', width: 4, role: null }, svg('title', {}, '<b>图</b>'), svg('rect', { x: 0 }));
    expect(node.namespaceURI).toBe('http://www.w3.org/2000/svg');
    expect(node.getAttribute('width')).toBe('4');
    expect(node.hasAttribute('role')).toBe(false);
    expect(node.querySelector('title').textContent).toBe('<b>图</b>');
    expect(node.querySelector('title').children.length).toBe(0);
    expect(node.querySelector('rect').namespaceURI).toBe('http://www.w3.org/2000/svg');
  });
});

suite('table', () => {
  it('has a caption, column headers and the given rows', () => {
    const row = el('tr');
    row.append(el('td', '', '1'));
    const node = table('台账', ['区', ['面积', 'pf-num']], [row], 'pf-t');
    expect(node.className).toBe('pf-t');
    expect(node.querySelector('caption').textContent).toBe('台账');
    const ths = [...node.querySelectorAll('thead th')];
    expect(ths.map((th) => [th.textContent, th.className, th.scope])).toEqual([
      ['区', '', 'col'],
      ['面积', 'pf-num', 'col'],
    ]);
    expect(node.querySelector('tbody').children[0]).toBe(row);
  });

  it('leaves the caption out when there is none', () => {
    expect(table(null, ['a'], []).querySelector('caption')).toBeNull();
  });
});

suite('describe', () => {
  it('appends terms with their values and skips empty ones', () => {
    const strong = el('strong', '', 'B');
    const list = describe(el('dl'), [
      ['a', 'A'],
      ['empty', ''],
      ['none', null],
      ['b', strong],
      ['zero', 0],
    ]);
    expect(list.innerHTML).toBe('<dt>a</dt><dd>A</dd><dt>b</dt><dd><strong>B</strong></dd><dt>zero</dt><dd>0</dd>');
  });
});

suite('clearInvalid', () => {
  it('clears the marks under a root only', () => {
    document.body.innerHTML = '<form id="f"><input aria-invalid="true"></form><input id="o" aria-invalid="true">';
    clearInvalid(document.getElementById('f'));
    expect(document.querySelectorAll('[aria-invalid="true"]').length).toBe(1);
    clearInvalid();
    expect(document.querySelectorAll('[aria-invalid="true"]').length).toBe(0);
    expect(() => clearInvalid(null)).not.toThrow();
  });
});
