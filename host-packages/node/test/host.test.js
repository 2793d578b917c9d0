// planfuse-host against a running PlanFuse server: mint → exchange → check → verify, the
// function-service call with Basic credentials, every way a signed result must be refused, the
// JWKS cache, and webhooks by the Standard Webhooks rules (a published known answer, and the
// reference implementation `standardwebhooks` both ways).
//
// The server is started by tests/system/test_host_package_node.py, which passes
// PLANFUSE_URL, PLANFUSE_APP_ID, PLANFUSE_APP_SECRET, PLANFUSE_OTHER_APP (id:secret),
// PLANFUSE_TEST_GEOMETRY and PLANFUSE_TEST_PROJECT_GEOMETRY. Without them only the webhook
// tests run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidResult, InvalidWebhook, PlanFuse, PlanFuseError, verifyWebhook } from '../index.js';

const env = process.env;
const live = Boolean(env.PLANFUSE_URL);
const BODY = { land_use: '0701', project_type: 'urban', crs: 'EPSG:4490' };

async function postJson(url, body, headers = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

describe('against a running server', { skip: !live && 'no PLANFUSE_URL' }, () => {
  const planfuse = live && new PlanFuse({ server: env.PLANFUSE_URL, appId: env.PLANFUSE_APP_ID, secret: env.PLANFUSE_APP_SECRET });
  const onFarmland = live && JSON.parse(env.PLANFUSE_TEST_GEOMETRY);
  const signed = async (client = planfuse) => (await client.call('POST', 'compliance/check', { ...BODY, geometry: onFarmland })).signature.jws;

  it('mint → exchange → check → verify', async () => {
    const token = planfuse.mintToken('user-42', { widget: 'compliance', name: '李四', params: { land_use: '0701' } });
    const session = await postJson(`${env.PLANFUSE_URL}/embed/session`, { token, widget: 'compliance' });
    assert.equal(session.status, 200);
    assert.deepEqual(session.body.params, { land_use: '0701' });
    const check = await postJson(`${env.PLANFUSE_URL}/api/v1/compliance/check`, { ...BODY, geometry: onFarmland }, { Authorization: `Bearer ${session.body.session_token}` });
    assert.equal(check.status, 201);
    const report = await planfuse.verifyResult(check.body.signature.jws);
    assert.equal(report.id, check.body.id);
    assert.equal(report.verdict, 'fail');
    assert.equal(report.items[0].rule, 'basic_farmland');
    assert.ok(Math.abs(report.items[0].overlap_area_m2 - 10000) < 0.01);
    // The token was spent.
    assert.equal((await postJson(`${env.PLANFUSE_URL}/embed/session`, { token })).status, 401);
  });

  it('reads its configuration from the environment', () => {
    const fromEnv = PlanFuse.fromEnv();
    assert.equal(fromEnv.appId, env.PLANFUSE_APP_ID);
    assert.throws(() => PlanFuse.fromEnv({ PLANFUSE_URL: env.PLANFUSE_URL }), /PLANFUSE_APP_ID, PLANFUSE_APP_SECRET/);
  });

  it('calls a function service with Basic credentials', async () => {
    const created = await planfuse.call('POST', 'projects', {
      name: '两江新区某安置房项目',
      geometry: JSON.parse(env.PLANFUSE_TEST_PROJECT_GEOMETRY),
      crs: 'EPSG:4490',
      land_use: '0701',
      project_type: 'urban',
      external_id: 'NODE-0001',
    });
    assert.match(created.id, /^prj_/);
    const listed = await planfuse.call('GET', 'projects', undefined, { query: { external_id: 'NODE-0001' } });
    assert.deepEqual(listed.projects.map((p) => p.id), [created.id]);
    const report = await planfuse.call('POST', 'compliance/check', { project: created.id });
    assert.equal((await planfuse.verifyResult(report.signature.jws)).project_id, created.id);
  });

  it('rejects with the problem', async () => {
    await assert.rejects(planfuse.call('POST', 'compliance/check', { ...BODY, land_use: '9999', geometry: onFarmland }), (e) => e instanceof PlanFuseError && e.status === 400 && e.code === 'unknown_land_use');
    const wrong = new PlanFuse({ server: env.PLANFUSE_URL, appId: env.PLANFUSE_APP_ID, secret: 'pfs_wrong' });
    await assert.rejects(wrong.call('GET', 'projects'), (e) => e.status === 401);
    const offline = new PlanFuse({ server: 'http://127.0.0.1:9', appId: 'a', secret: 's', timeoutMs: 2000 });
    await assert.rejects(offline.call('GET', 'projects'), (e) => e.status === 0 && e.code === 'network');
  });

  it("refuses another app's result, forgeries and junk", async () => {
    const [otherId, otherSecret] = env.PLANFUSE_OTHER_APP.split(':');
    const theirs = await signed(new PlanFuse({ server: env.PLANFUSE_URL, appId: otherId, secret: otherSecret }));
    await assert.rejects(planfuse.verifyResult(theirs), (e) => e instanceof InvalidResult && /issued to/.test(e.message));
    const [header, payload, signature] = (await signed()).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url'));
    claims.report.verdict = 'pass';
    const forged = Buffer.from(JSON.stringify(claims)).toString('base64url');
    await assert.rejects(planfuse.verifyResult(`${header}.${forged}.${signature}`), /does not verify/);
    const hs = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'planfuse-compliance+jwt' })).toString('base64url');
    await assert.rejects(planfuse.verifyResult(`${hs}.${payload}.${signature}`), /must be ES256/);
    const jwt = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url')), typ: 'JWT' })).toString('base64url');
    await assert.rejects(planfuse.verifyResult(`${jwt}.${payload}.${signature}`), /typ/);
    const kid = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url')), kid: 'nope' })).toString('base64url');
    await assert.rejects(planfuse.verifyResult(`${kid}.${payload}.${signature}`), /kid/);
    for (const junk of ['', 'a.b', 42, undefined]) await assert.rejects(planfuse.verifyResult(junk), InvalidResult);
    // Every result carries exp, a day after it was signed.
    assert.ok(claims.exp - claims.iat === 86400);
  });

  it('fetches the JWKS once for many results', async () => {
    const client = new PlanFuse({ server: env.PLANFUSE_URL, appId: env.PLANFUSE_APP_ID, secret: env.PLANFUSE_APP_SECRET });
    const fetched = [];
    const original = client.request.bind(client);
    client.request = (method, url, ...rest) => {
      if (url.endsWith('/jwks.json')) fetched.push(url);
      return original(method, url, ...rest);
    };
    // Checked one after another: an app may run only a few heavy requests at once.
    const results = [];
    for (let i = 0; i < 3; i += 1) results.push(await signed(client));
    await Promise.all(results.map((r) => client.verifyResult(r)));
    await client.verifyResult(results[0]);
    assert.deepEqual(fetched, [`${env.PLANFUSE_URL}/api/v1/compliance/jwks.json`]);
  });
});

// The example of the Standard Webhooks / Svix documentation.
const KNOWN = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  headers: { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' },
  body: '{"test": 2432232314}',
  now: 1614265330,
};

describe('verifyWebhook', () => {
  it('accepts the published example (plain object, Headers, Buffer, several signatures)', () => {
    assert.deepEqual(verifyWebhook(KNOWN.secret, KNOWN.headers, KNOWN.body, { now: KNOWN.now + 10 }), { test: 2432232314 });
    const headers = new Headers({ ...KNOWN.headers, 'webhook-signature': `v1,bm9wZQ== ${KNOWN.headers['webhook-signature']}` });
    assert.ok(verifyWebhook(KNOWN.secret, headers, Buffer.from(KNOWN.body), { now: KNOWN.now }));
  });

  const cases = [
    ['a changed body', KNOWN.headers, '{"test": 2432232315}', KNOWN.now, /no webhook-signature/],
    ['another id', { ...KNOWN.headers, 'webhook-id': 'msg_other' }, KNOWN.body, KNOWN.now, /no webhook-signature/],
    ['a late delivery', KNOWN.headers, KNOWN.body, KNOWN.now + 301, /too far/],
    ['an early one', KNOWN.headers, KNOWN.body, KNOWN.now - 301, /too far/],
    ['a bad timestamp', { ...KNOWN.headers, 'webhook-timestamp': 'soon' }, KNOWN.body, KNOWN.now, /Unix/],
    ['a missing header', { 'webhook-id': 'x' }, KNOWN.body, KNOWN.now, /webhook-timestamp header/],
    ['another version', { ...KNOWN.headers, 'webhook-signature': KNOWN.headers['webhook-signature'].replace('v1,', 'v2,') }, KNOWN.body, KNOWN.now, /no webhook-signature/],
  ];
  for (const [name, headers, body, now, message] of cases) {
    it(`refuses ${name}`, () => {
      assert.throws(() => verifyWebhook(KNOWN.secret, headers, body, { now }), (e) => e instanceof InvalidWebhook && message.test(e.message));
    });
  }

  it('agrees with the reference implementation', async () => {
    const { Webhook } = await import('standardwebhooks');
    const secret = `whsec_${Buffer.from('planfuse-test-webhook-key-32byte').toString('base64')}`;
    const body = JSON.stringify({ type: 'monitoring.warning', data: { indicator: '建设用地规模' } });
    const reference = new Webhook(secret);
    const at = new Date();
    const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at / 1000)), 'webhook-signature': reference.sign('msg_1', at, body) };
    assert.equal(verifyWebhook(secret, headers, body).type, 'monitoring.warning');
    assert.deepEqual(reference.verify(body, headers), JSON.parse(body));
  });
});
