// The admin console's embed page: pick a widget, set its parameters, theme and locale, see
// it live (through the real SDK), and copy the host snippet and the token-minting code.
import './console.css';
import { $, readConfig } from './dom.js';

const config = readConfig('admin-config');
const manifest = config.manifest;
const state = { snippet: 'script', code: 'python' };
let preview = null;

function option(select, value, label) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  select.appendChild(o);
}

function widgetTitle(w) {
  return `${w.title['zh-CN']} · ${w.title.en} (${w.name})`;
}

function fillSelects() {
  for (const app of config.apps) option($('app'), app.app_id, `${app.name} (${app.app_id})${app.disabled ? ' — disabled' : ''}`);
  // /admin/embed?app=ID (linked from the host-app page) starts with that app chosen.
  const wanted = new URLSearchParams(location.search).get('app');
  if (config.apps.some((a) => a.app_id === wanted)) $('app').value = wanted;
  for (const w of Object.values(manifest.widgets)) option($('widget'), w.name, widgetTitle(w));
  for (const l of config.locales) option($('locale'), l, l);
  if (!config.apps.length) $('app-hint').textContent = '还没有宿主应用：planfuse apps create NAME --origin https://host:port · No host app yet.';
  if (!Object.keys(manifest.widgets).length) $('widget-hint').textContent = '没有已注册的组件 · No widget is registered.';
}

function field(name, spec) {
  const id = `param-${name}`;
  const wrap = document.createElement('div');
  wrap.className = 'pf-param';
  const label = document.createElement('label');
  label.htmlFor = id;
  const desc = spec.description ? ` — ${spec.description['zh-CN'] || ''} ${spec.description.en || ''}` : '';
  label.textContent = `${name} (${spec.type})${desc}`;
  let input;
  if (spec.enum) {
    input = document.createElement('select');
    option(input, '', '—');
    for (const v of spec.enum) option(input, JSON.stringify(v), String(v));
  } else if (spec.type === 'boolean') {
    input = document.createElement('select');
    option(input, '', '—');
    option(input, 'true', 'true');
    option(input, 'false', 'false');
  } else if (spec.type === 'array' || spec.type === 'object') {
    input = document.createElement('textarea');
    input.placeholder = spec.type === 'array' ? '["a", "b"]' : '{"key": "value"}';
  } else {
    input = document.createElement('input');
    input.type = spec.type === 'string' ? 'text' : 'number';
  }
  input.id = id;
  input.dataset.param = name;
  input.dataset.type = spec.type;
  wrap.append(label, input);
  if (spec.lockable !== false) {
    const lock = document.createElement('label');
    lock.className = 'pf-lock';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.dataset.lock = name;
    box.checked = Boolean(spec.lockable);
    lock.append(box, ' 锁定在令牌中 · lock in the token');
    wrap.appendChild(lock);
  }
  return wrap;
}

function renderParams() {
  const box = $('params');
  box.querySelectorAll('.pf-param, .pf-hint').forEach((el) => el.remove());
  const w = manifest.widgets[$('widget').value];
  const params = (w && w.params) || {};
  if (!Object.keys(params).length) {
    const p = document.createElement('p');
    p.className = 'pf-hint';
    p.textContent = '此组件没有参数 · This widget has no parameters.';
    box.appendChild(p);
  }
  for (const [name, spec] of Object.entries(params)) box.appendChild(field(name, spec));
}

function renderTheme() {
  const box = $('theme');
  for (const [name, kind] of Object.entries(manifest.theme)) {
    const wrap = document.createElement('div');
    wrap.className = 'pf-param';
    const label = document.createElement('label');
    label.htmlFor = `theme-${name}`;
    label.textContent = `--pf-${name} (${kind})`;
    const input = document.createElement('input');
    input.id = `theme-${name}`;
    input.dataset.theme = name;
    input.placeholder = kind === 'color' ? '#0b5cad' : kind === 'length' ? '4px' : 'system-ui';
    wrap.append(label, input);
    box.appendChild(wrap);
  }
}

/** The form's values: {app, widget, locale, locked, unlocked, theme}. */
function values() {
  const locked = {};
  const unlocked = {};
  for (const input of document.querySelectorAll('[data-param]')) {
    if (input.value === '') continue;
    const name = input.dataset.param;
    let value = input.value;
    if (input.dataset.type !== 'string' || input.tagName === 'SELECT') {
      try {
        value = JSON.parse(input.value);
      } catch {
        value = input.value;
      }
    }
    const lock = document.querySelector(`[data-lock="${name}"]`);
    (lock && lock.checked ? locked : unlocked)[name] = value;
  }
  const theme = {};
  for (const input of document.querySelectorAll('[data-theme]')) if (input.value) theme[input.dataset.theme] = input.value;
  return { app: $('app').value || 'APP_ID', widget: $('widget').value, locale: $('locale').value, locked, unlocked, theme };
}

const q = (s) => s.replace(/&/g, '&amp;').replace(/'/g, '&#39;').replace(/"/g, '&quot;');
const json = (v) => JSON.stringify(v);

const SNIPPETS = {
  script: ['<script> + div', (v) => {
    const attrs = [`data-planfuse-widget="${v.widget}"`, `data-app="${v.app}"`, 'data-token-url="/planfuse-token"'];
    if (v.locale !== 'zh-CN') attrs.push(`data-locale="${v.locale}"`);
    if (Object.keys(v.unlocked).length) attrs.push(`data-params='${q(json(v.unlocked))}'`);
    if (Object.keys(v.theme).length) attrs.push(`data-theme='${q(json(v.theme))}'`);
    return `<script src="${config.server}/embed.js" async></script>\n<div ${attrs.join('\n     ')}></div>`;
  }],
  element: ['<planfuse-widget>', (v) => {
    const attrs = [`widget="${v.widget}"`, `app="${v.app}"`, 'token-url="/planfuse-token"'];
    if (v.locale !== 'zh-CN') attrs.push(`locale="${v.locale}"`);
    if (Object.keys(v.unlocked).length) attrs.push(`params='${q(json(v.unlocked))}'`);
    if (Object.keys(v.theme).length) attrs.push(`theme='${q(json(v.theme))}'`);
    return `<script src="${config.server}/embed.js" async></script>\n<planfuse-widget ${attrs.join('\n                 ')}></planfuse-widget>`;
  }],
  js: ['JavaScript', (v) => `<script src="${config.server}/embed.js"></script>
<div id="planfuse-${v.widget}"></div>
<script type="module">
  const handle = PlanFuse.mount(document.getElementById('planfuse-${v.widget}'), {
    widget: '${v.widget}',
    app: '${v.app}',
    locale: '${v.locale}',
    params: ${json(v.unlocked)},
    theme: ${json(v.theme)},
    // Called again before the session expires; your backend mints a fresh token each time.
    token: () =>
      fetch('/planfuse-token', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ widget: '${v.widget}' }),
      }).then((r) => r.json()).then((j) => j.token),
  });
  handle.on('ready', () => console.log('ready'));
  handle.on('error', (e) => console.warn(e.code, e.message));
${Object.keys((manifest.widgets[v.widget] || {}).events || {}).map((e) => `  handle.on('${e}', (payload) => console.log('${e}', payload));`).join('\n')}
</script>`],
  iframe: ['<iframe>', (v) => {
    const qs = new URLSearchParams({ app: v.app, locale: v.locale });
    for (const [k, x] of Object.entries(v.unlocked)) qs.set(`param.${k}`, typeof x === 'string' ? x : json(x));
    for (const [k, x] of Object.entries(v.theme)) qs.set(`theme.${k}`, x);
    const w = manifest.widgets[v.widget] || { default_height: 400, title: { 'zh-CN': v.widget } };
    return `<!-- Plain iframe (fixed height): put a fresh token from your backend after #token= -->
<iframe src="${config.server}/embed/${v.widget}?${q(qs.toString())}#token=TOKEN_FROM_YOUR_BACKEND"
        title="${q(w.title['zh-CN'] || v.widget)}" referrerpolicy="no-referrer"
        style="width:100%;height:${w.default_height}px;border:0"></iframe>`;
  }],
};

function lit(lang, value, indent = '') {
  const next = `${indent}    `;
  if (value === null) return { python: 'None', java: 'null', node: 'null', php: 'null' }[lang];
  if (typeof value === 'boolean') return lang === 'python' ? (value ? 'True' : 'False') : String(value);
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return lang === 'php' ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : json(value);
  if (Array.isArray(value)) {
    const items = value.map((x) => lit(lang, x, next));
    return { python: `[${items.join(', ')}]`, java: `List.of(${items.join(', ')})`, node: `[${items.join(', ')}]`, php: `[${items.join(', ')}]` }[lang];
  }
  const entries = Object.entries(value).map(([k, x]) => [lit(lang, k), lit(lang, x, next)]);
  if (lang === 'java') return `Map.of(${entries.map(([k, x]) => `${k}, ${x}`).join(', ')})`;
  if (lang === 'php') return `[${entries.map(([k, x]) => `${k} => ${x}`).join(', ')}]`;
  if (lang === 'node') return `{ ${entries.map(([k, x]) => `${k}: ${x}`).join(', ')} }`;
  return `{${entries.map(([k, x]) => `${k}: ${x}`).join(', ')}}`;
}

const TTL = () => Math.min(300, config.max_ttl_s);

const CODE = {
  python: ['Python', (v) => `# pip install pyjwt — serve it as POST /planfuse-token ({"widget": ...} in,
# {"token": ...} out) for the user signed in to your system
import os, time, uuid
import jwt

def planfuse_token(user_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": "${v.app}",
        "aud": "${config.audience}",
        "sub": user_id,
        "iat": now,
        "exp": now + ${TTL()},
        "jti": str(uuid.uuid4()),
        "widget": "${v.widget}",
        "params": ${lit('python', v.locked)},
    }
    return jwt.encode(claims, os.environ["PLANFUSE_APP_SECRET"], algorithm="HS256")`],
  java: ['Java', (v) => `// io.jsonwebtoken:jjwt-api/-impl/-jackson 0.12 — serve it as POST /planfuse-token
import io.jsonwebtoken.Jwts;
import io.jsonwebtoken.security.Keys;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.*;

public final class PlanFuseTokens {
    private static final byte[] SECRET =
        System.getenv("PLANFUSE_APP_SECRET").getBytes(StandardCharsets.UTF_8);

    public static String planfuseToken(String userId) {
        Instant now = Instant.now();
        return Jwts.builder()
            .issuer("${v.app}")
            .audience().add("${config.audience}").and()
            .subject(userId)
            .issuedAt(Date.from(now))
            .expiration(Date.from(now.plusSeconds(${TTL()})))
            .id(UUID.randomUUID().toString())
            .claim("widget", "${v.widget}")
            .claim("params", ${lit('java', v.locked)})
            .signWith(Keys.hmacShaKeyFor(SECRET), Jwts.SIG.HS256)
            .compact();
    }
}`],
  node: ['Node.js', (v) => `// npm install jose — serve it as POST /planfuse-token
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

const secret = new TextEncoder().encode(process.env.PLANFUSE_APP_SECRET);

export async function planfuseToken(userId) {
  return new SignJWT({ widget: '${v.widget}', params: ${lit('node', v.locked)} })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('${v.app}')
    .setAudience('${config.audience}')
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('${TTL()}s')
    .setJti(randomUUID())
    .sign(secret);
}`],
  csharp: ['C#', (v) => `// dotnet add package System.IdentityModel.Tokens.Jwt — serve it as POST /planfuse-token
using System.IdentityModel.Tokens.Jwt;
using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.Tokens;

public static class PlanFuseTokens
{
    public static string PlanFuseToken(string userId)
    {
        var key = new SymmetricSecurityKey(
            Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable("PLANFUSE_APP_SECRET")!));
        var now = DateTime.UtcNow;
        var token = new JwtSecurityToken(
            issuer: "${v.app}",
            audience: "${config.audience}",
            claims: new[]
            {
                new Claim("sub", userId),
                new Claim("jti", Guid.NewGuid().ToString()),
                new Claim("iat", new DateTimeOffset(now).ToUnixTimeSeconds().ToString(), ClaimValueTypes.Integer64),
                new Claim("widget", "${v.widget}"),
                new Claim("params", ${json(json(v.locked))}, JsonClaimValueTypes.Json),
            },
            expires: now.AddSeconds(${TTL()}),
            signingCredentials: new SigningCredentials(key, SecurityAlgorithms.HmacSha256));
        return new JwtSecurityTokenHandler().WriteToken(token);
    }
}`],
  php: ['PHP', (v) => `<?php
// composer require firebase/php-jwt — serve it as POST /planfuse-token
use Firebase\\JWT\\JWT;

function planfuse_token(string $userId): string
{
    $now = time();
    return JWT::encode([
        'iss' => '${v.app}',
        'aud' => '${config.audience}',
        'sub' => $userId,
        'iat' => $now,
        'exp' => $now + ${TTL()},
        'jti' => bin2hex(random_bytes(16)),
        'widget' => '${v.widget}',
        'params' => ${lit('php', v.locked)},
    ], getenv('PLANFUSE_APP_SECRET'), 'HS256');
}`],
};

function tabs(box, table, key) {
  // Built once; a re-render on every keystroke would swap the buttons under the pointer.
  for (const [id, [label]] of Object.entries(table)) {
    const b = document.createElement('button');
    b.type = 'button';
    b.setAttribute('role', 'tab');
    b.dataset.tab = id;
    b.textContent = label;
    b.addEventListener('click', () => {
      state[key] = id;
      update();
    });
    box.appendChild(b);
  }
}

function markTabs(box, selected) {
  for (const b of box.querySelectorAll('[data-tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === selected));
}

function update() {
  const v = values();
  markTabs($('snippet-tabs'), state.snippet);
  markTabs($('code-tabs'), state.code);
  $('snippet').textContent = SNIPPETS[state.snippet][1](v);
  $('code').textContent = CODE[state.code][1](v);
  const app = config.apps.find((a) => a.app_id === $('app').value);
  $('app-hint').textContent = app ? `允许的来源 · origins: ${app.origins.join(', ')}${app.can_preview ? '' : ' — 无共享密钥，无法预览 · no shared secret, no preview'}` : $('app-hint').textContent;
}

function log(name, payload) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${name} ${JSON.stringify(payload)}`;
  $('events').prepend(li);
}

async function showPreview(event) {
  event.preventDefault();
  const v = values();
  if (preview) preview.destroy();
  $('events').textContent = '';
  const res = await fetch('/admin/embed/preview-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': config.csrf_token },
    body: JSON.stringify({ app_id: v.app, widget: v.widget, params: v.locked, locale: v.locale }),
    credentials: 'same-origin',
  });
  const body = await res.json();
  if (!res.ok) {
    log('preview-error', { status: res.status, detail: body.detail });
    return;
  }
  preview = window.PlanFuse.mount($('preview'), {
    widget: v.widget,
    app: v.app,
    token: body.token,
    params: v.unlocked,
    theme: v.theme,
    locale: v.locale,
    server: `${location.origin}/`,
  });
  const names = ['ready', 'resize', 'error', ...Object.keys(manifest.widgets[v.widget].events || {})];
  for (const name of names) preview.on(name, (payload) => log(name, payload));
}

async function copy(event) {
  const target = $(event.currentTarget.dataset.copy);
  await navigator.clipboard.writeText(target.textContent);
  event.currentTarget.textContent = '已复制 · Copied';
}

fillSelects();
tabs($('snippet-tabs'), SNIPPETS, 'snippet');
tabs($('code-tabs'), CODE, 'code');
renderParams();
renderTheme();
update();
$('widget').addEventListener('change', () => {
  renderParams();
  update();
});
$('embed-form').addEventListener('input', update);
$('embed-form').addEventListener('change', update);
$('embed-form').addEventListener('submit', showPreview);
for (const b of document.querySelectorAll('[data-copy]')) b.addEventListener('click', copy);
