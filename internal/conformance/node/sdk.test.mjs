// Conformance test: the official Smartcar Node SDK (npm `smartcar`, pinned in
// package.json) against the sandbox, configured only through the environment variables
// the SDK honours. No patch, no shim: if the SDK cannot tell the sandbox from Smartcar
// test mode, these tests pass.
//
// Environment (set by conformance/node_test.go):
//   SMARTCAR_API_ORIGIN, SMARTCAR_AUTH_ORIGIN  the sandbox origin (Node builds the Connect
//                                             URL from SMARTCAR_API_ORIGIN)
//   SMARTCAR_CLIENT_ID, SMARTCAR_CLIENT_SECRET a client registered in the sandbox
//   CONFORMANCE_REDIRECT_URI                  its redirect URI (default https://example.com/auth)
//
// Expectations come from /work/shared/smartcar-api.md (section numbers cited) and from
// reading node_modules/smartcar/lib/*.js.

import {describe, it, before} from 'node:test';
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import http from 'node:http';
import smartcar from 'smartcar';
import {runConnect} from './lib/connect.mjs';
import {
  UUID, body, assertKeys, assertExactKeys, assertBetween, assertFraction, assertMeta,
  smartcarError, assertV2Error, assertOAuthError,
} from './lib/expect.mjs';

const ORIGIN = process.env.SMARTCAR_API_ORIGIN;
const REDIRECT_URI = process.env.CONFORMANCE_REDIRECT_URI || 'https://example.com/auth';
if (!ORIGIN || !process.env.SMARTCAR_CLIENT_ID || !process.env.SMARTCAR_CLIENT_SECRET) {
  throw new Error('set SMARTCAR_API_ORIGIN, SMARTCAR_AUTH_ORIGIN, SMARTCAR_CLIENT_ID and ' +
    'SMARTCAR_CLIENT_SECRET (conformance/node_test.go does)');
}

// Every v2 permission with an endpoint the SDK can call (§4.1). The main account asks
// for read_odometer as `required:` to check that /permissions strips the prefix (§7.1).
const ALL_PERMISSIONS = [
  'read_vehicle_info', 'read_vin', 'read_odometer', 'read_location', 'read_fuel',
  'read_battery', 'read_charge', 'control_charge', 'read_engine_oil', 'read_tires',
  'read_security', 'control_security', 'control_navigation', 'read_service_history',
  'read_diagnostics',
];
const ALL_SCOPE = ALL_PERMISSIONS.map((p) => (p === 'read_odometer' ? `required:${p}` : p));

// Test-mode ranges (§7.1) and unit conversions (§4.1: km→mi, L→US gal, kPa→psi).
const KM_TO_MI = 0.621371;
const L_TO_GAL = 0.264172;
const KPA_TO_PSI = 0.145038;
const SLACK = 1.001; // rounding of converted values

const PHEV_VIN = '1G1RD6E48DU000001';
const BEV_VIN = '5YJ3E1EA7KF317000';
const FUEL_VIN = '1FTEW1EP5JF000002';

const ACTION_OK = {status: 'success', message: 'Successfully sent request to vehicle'};

const DESCRIPTIONS = {
  AUTHENTICATION: 'The authorization header is missing or malformed, or it contains invalid or ' +
    'expired authentication credentials. Please check for missing parameters, spelling and ' +
    'casing mistakes, and other syntax issues.',
  PERMISSION: 'Your application has insufficient permissions to access the requested resource. ' +
    'Please prompt the user to re-authenticate using Smartcar Connect.',
  VALIDATION: 'Request invalid or malformed. Please check for missing parameters, spelling and ' +
    'casing mistakes, and other syntax issues.',
  ASLEEP: 'The vehicle is in a sleep state and temporarily unable to perform your request.',
  RATE_LIMIT_VEHICLE: 'You have reached the throttling rate limit for this vehicle. Please see ' +
    'the retry-after header (seconds) for when to retry the request.',
};

function authClient(overrides = {}) {
  // clientId/secret fall back to SMARTCAR_CLIENT_ID/_SECRET inside the SDK.
  return new smartcar.AuthClient({redirectUri: REDIRECT_URI, mode: 'test', ...overrides});
}

/** A random test-mode login: one vehicle of the chosen brand (§7.2). */
function randomEmail() {
  return `${randomUUID()}@email.com`;
}

/**
 * Runs Connect for `email` and exchanges the code. Returns the tokens, the vehicle ids
 * (first page, default paging) and the Connect result.
 */
async function login({email = randomEmail(), make = 'CHEVROLET', scope = ALL_SCOPE, authOptions = {}} = {}) {
  const client = authClient();
  const state = randomUUID();
  const url = client.getAuthUrl(scope, {state, ...authOptions});
  const connect = await runConnect(url, REDIRECT_URI, {email, make});
  assert.equal(connect.params.state, state, 'state echoed on the redirect');
  assert.ok(connect.params.code, `redirect carries a code: ${connect.location}`);
  const access = await client.exchangeCode(connect.params.code);
  const {vehicles} = await smartcar.getVehicles(access.accessToken);
  return {client, access, vehicles, connect, email};
}

describe('Connect via AuthClient.getAuthUrl (§2)', () => {
  it('builds the Connect URL on the sandbox origin with mode=test (§1.2, §2.1)', () => {
    const url = new URL(authClient().getAuthUrl(['read_odometer', 'read_vin'], {state: 's1'}));
    assert.equal(url.origin, new URL(ORIGIN).origin);
    assert.equal(url.pathname, '/oauth/authorize');
    assert.equal(url.searchParams.get('mode'), 'test');
    assert.equal(url.searchParams.get('response_type'), 'code');
    assert.equal(url.searchParams.get('client_id'), process.env.SMARTCAR_CLIENT_ID);
    assert.equal(url.searchParams.get('redirect_uri'), REDIRECT_URI);
    assert.match(url.search, /scope=read_odometer%20read_vin/, 'Node encodes spaces as %20');
  });

  it('walks preamble → brand list → brand login → grant and redirects with code and state (§7.3)', async () => {
    const state = randomUUID();
    const url = authClient().getAuthUrl(ALL_SCOPE, {state});
    const {params, pages, grant} = await runConnect(url, REDIRECT_URI, {email: randomEmail(), make: 'CHEVROLET'});
    assert.deepEqual(pages, ['preamble', 'brands', 'login', 'grant']);
    assert.ok(grant.hasClass('page-content'), 'grant page has .page-content');
    assert.equal(params.state, state);
    assert.ok(params.code && params.code.length >= 16, `code looks like a code: ${params.code}`);
    assert.equal(params.error, undefined);
  });

  it('runs the getting-started tutorial flow: required: scope, no state (peers/express-tutorial)', async () => {
    const client = authClient();
    const url = client.getAuthUrl(['required:read_vehicle_info']);
    assert.equal(new URL(url).searchParams.get('state'), null);
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail(), make: 'TESLA'});
    // No state was sent, so none comes back: the code, and the user_id that Smartcar's
    // v3 model (application token + sc-user-id) needs, are all the redirect carries.
    assert.deepEqual(Object.keys(params).sort(), ['code', 'user_id'], `only a code and a user id on the redirect: ${JSON.stringify(params)}`);
    const access = await client.exchangeCode(params.code);
    const {vehicles} = await smartcar.getVehicles(access.accessToken);
    const attributes = await new smartcar.Vehicle(vehicles[0], access.accessToken).attributes();
    assert.equal(attributes.make, 'TESLA');
    assert.equal(attributes.model, 'Model 3');
    const perms = await new smartcar.Vehicle(vehicles[0], access.accessToken).permissions();
    assert.deepEqual(perms.permissions, ['read_vehicle_info']);
  });

  it('skips the brand list with makeBypass (§2.1)', async () => {
    const url = authClient().getAuthUrl(['read_vehicle_info'], {state: 'bypass', makeBypass: 'TESLA'});
    const {params, pages} = await runConnect(url, REDIRECT_URI, {email: randomEmail(), make: 'TESLA'});
    assert.ok(!pages.includes('brands'), `pages walked: ${pages}`);
    assert.ok(params.code);
    const access = await authClient().exchangeCode(params.code);
    const {vehicles} = await smartcar.getVehicles(access.accessToken);
    const attrs = await new smartcar.Vehicle(vehicles[0], access.accessToken).attributes();
    assert.equal(attrs.make, 'TESLA');
  });

  it('passes flags and user through getAuthUrl without changing the flow (§2.1)', async () => {
    const url = authClient().getAuthUrl(['read_vehicle_info'],
      {state: 'flags', flags: {country: 'US', color: '00819D'}, user: 'user-123', forcePrompt: true});
    assert.equal(new URL(url).searchParams.get('flags'), 'country:US color:00819D');
    assert.equal(new URL(url).searchParams.get('approval_prompt'), 'force');
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    assert.ok(params.code, `code on the redirect: ${JSON.stringify(params)}`);
    assert.equal(params.state, 'flags');
  });

  it('single select shows radio buttons and grants exactly one vehicle (§2.1, §7.3)', async () => {
    const {access, connect} = await login({
      email: '3-vehicles@smartcar.com', scope: ['read_vehicle_info'], authOptions: {singleSelect: {enabled: true}},
    });
    const radios = connect.grant.controls.filter((c) => c.attrs.type === 'radio');
    assert.equal(radios.length, 3, 'one radio per vehicle');
    assert.ok(!connect.grant.controls.some((c) => c.attrs.type === 'checkbox'), 'no checkboxes');
    const res = await smartcar.getVehicles(access.accessToken);
    assert.equal(res.vehicles.length, 1);
    assert.deepEqual(res.paging, {count: 1, offset: 0});
  });

  it('single_select_vin with the matching VIN account skips the brand list and grants that VIN (§7.2, §7.3)', async () => {
    const {access, vehicles, connect} = await login({
      email: `${PHEV_VIN}@phev.smartcar.com`, scope: ['read_vin'], authOptions: {singleSelect: {vin: PHEV_VIN}},
    });
    assert.ok(!connect.pages.includes('brands'), `pages walked: ${connect.pages}`);
    assert.equal(vehicles.length, 1);
    const {vin} = await new smartcar.Vehicle(vehicles[0], access.accessToken).vin();
    assert.equal(vin, PHEV_VIN);
  });

  it('an AuthClient left in its default live mode ends in configuration_error (§7.2)', async () => {
    const live = new smartcar.AuthClient({redirectUri: REDIRECT_URI});
    const url = live.getAuthUrl(['read_odometer'], {state: 'live'});
    assert.equal(new URL(url).searchParams.get('mode'), 'live');
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    assert.equal(params.error, 'configuration_error');
    assert.equal(params.state, 'live');
    assert.ok(params.error_description, 'error_description');
    assert.ok(params.status_code, 'status_code (§2.2)');
    assert.ok(params.error_message, 'error_message (§2.2)');
    assert.equal(params.code, undefined);
  });

  it('accepts mode simulated (§7.4)', async () => {
    const sim = authClient({mode: 'simulated'});
    const url = sim.getAuthUrl(['read_vehicle_info'], {state: 'sim'});
    assert.equal(new URL(url).searchParams.get('mode'), 'simulated');
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    assert.ok(params.code, JSON.stringify(params));
    assert.ok((await sim.exchangeCode(params.code)).accessToken);
  });

  for (const {name, email, vin} of [
    {name: '<VIN>@incompatible.smartcar.com', email: `${PHEV_VIN}@incompatible.smartcar.com`, vin: PHEV_VIN},
    {name: 'smartcar@vehicle-incompatible.com', email: 'smartcar@vehicle-incompatible.com', vin: '0SCAUDI012FE3B132'},
  ]) {
    it(`${name} ends in vehicle_incompatible with vin, make, model, year when shared (§2.2, §7.2)`, async () => {
      const url = authClient().getAuthUrl(['read_odometer'], {state: 'incompat'});
      const {params} = await runConnect(url, REDIRECT_URI, {email, make: 'AUDI'});
      assert.equal(params.error, 'vehicle_incompatible', JSON.stringify(params));
      assert.equal(params.error_description, 'The user’s vehicle is not compatible.');
      assert.equal(params.state, 'incompat');
      assert.equal(params.vin, vin);
      assert.ok(params.make && params.model, JSON.stringify(params));
      assert.match(params.year, /^\d{4}$/);
      assert.equal(params.code, undefined);
    });
  }

  it('smartcar@invalid-subscription.com ends in invalid_subscription (§2.2, §7.2)', async () => {
    const url = authClient().getAuthUrl(['read_odometer'], {state: 'sub'});
    const {params} = await runConnect(url, REDIRECT_URI, {email: 'smartcar@invalid-subscription.com', make: 'AUDI'});
    assert.equal(params.error, 'invalid_subscription', JSON.stringify(params));
    assert.equal(params.state, 'sub');
    assert.ok(params.error_description);
  });

  it('redirects with error=access_denied when the user denies (§2.2)', async () => {
    const url = authClient().getAuthUrl(['read_odometer'], {state: 'denied-state'});
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail(), deny: true});
    assert.deepEqual(params, {
      error: 'access_denied',
      error_description: 'User denied access to application.',
      state: 'denied-state',
    });
  });

  it('getAuthUrl with options only (no scope) grants the default set: 12 permissions as in the Node e2e suite (§7.1)', async () => {
    const client = authClient();
    const url = client.getAuthUrl({state: 'no-scope'});
    assert.equal(new URL(url).searchParams.get('scope'), null);
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    const access = await client.exchangeCode(params.code);
    const {vehicles} = await smartcar.getVehicles(access.accessToken);
    const perms = await new smartcar.Vehicle(vehicles[0], access.accessToken).permissions();
    assert.equal(perms.paging.count, 12, `permissions: ${perms.permissions}`);
    assert.equal(perms.permissions.length, 12);
  });

  it('answers an unknown client_id with an HTML error page, not a redirect', async () => {
    const url = authClient({clientId: 'no-such-client'}).getAuthUrl(['read_odometer'], {state: 'x'});
    const res = await fetch(url, {redirect: 'manual'});
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    await res.arrayBuffer();
  });
});

describe('token endpoint via exchangeCode / exchangeRefreshToken (§3)', () => {
  let code;
  let access;
  const client = authClient();

  before(async () => {
    const url = client.getAuthUrl(ALL_SCOPE, {state: 'tok'});
    ({params: {code}} = await runConnect(url, REDIRECT_URI, {email: randomEmail()}));
  });

  it('exchanges the code for a 2-hour access token and a refresh token (§3.2)', async () => {
    const t0 = Date.now();
    access = await client.exchangeCode(code);
    const t1 = Date.now();
    assertExactKeys(access, ['accessToken', 'refreshToken', 'expiration', 'refreshExpiration'], 'exchangeCode result');
    assert.equal(typeof access.accessToken, 'string');
    assert.ok(access.accessToken.length > 0);
    assert.equal(typeof access.refreshToken, 'string');
    assert.ok(access.refreshToken.length > 0);
    assert.notEqual(access.accessToken, access.refreshToken);
    // expiration = now + expires_in (computed by the SDK between t0 and t1): expires_in is 7200.
    const ms = access.expiration.getTime();
    assert.ok(ms >= t0 + 7200e3 && ms <= t1 + 7200e3, `expires_in is 7200 s (expiration ${access.expiration.toISOString()})`);
    const user = await smartcar.getUser(access.accessToken);
    assert.match(user.id, UUID);
  });

  it('answers the token POST with exactly the OAuth fields on the wire (§3.2, §3.4)', async () => {
    // The SDK hides token_type and expires_in; other SDKs keep them, so look at the wire.
    const url = client.getAuthUrl(['read_vehicle_info'], {state: 'wire'});
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    const basic = Buffer.from(`${process.env.SMARTCAR_CLIENT_ID}:${process.env.SMARTCAR_CLIENT_SECRET}`).toString('base64');
    const post = (form) => fetch(`${process.env.SMARTCAR_AUTH_ORIGIN}/oauth/token`, {
      method: 'POST',
      headers: {'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}`},
      body: new URLSearchParams(form),
    });
    const res = await post({grant_type: 'authorization_code', code: params.code, redirect_uri: REDIRECT_URI});
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /application\/json/);
    const tok = await res.json();
    assertExactKeys(tok, ['access_token', 'token_type', 'expires_in', 'refresh_token'], 'token response');
    assert.equal(tok.token_type, 'Bearer');
    assert.equal(tok.expires_in, 7200);
    const bad = await post({grant_type: 'authorization_code', code: params.code, redirect_uri: REDIRECT_URI});
    assert.equal(bad.status, 400);
    assert.match(bad.headers.get('content-type'), /application\/json/);
    const err = await bad.json();
    assert.equal(typeof err.error, 'string');
    assert.equal(typeof err.error_description, 'string');
  });

  it('refuses the same code a second time (§3.3, §3.4)', async () => {
    assert.ok(access, 'needs the first exchange');
    const err = await smartcarError(client.exchangeCode(code));
    assertOAuthError(err, {statusCode: 400, type: ['invalid_grant', 'invalid_request']});
  });

  it('refreshes into a new pair that works, and the old refresh token still works within a minute (§3.3)', async () => {
    assert.ok(access, 'needs the first exchange');
    const t0 = Date.now();
    const next = await client.exchangeRefreshToken(access.refreshToken);
    const t1 = Date.now();
    assertExactKeys(next, ['accessToken', 'refreshToken', 'expiration', 'refreshExpiration'], 'refresh result');
    assert.notEqual(next.accessToken, access.accessToken, 'new access token');
    assert.notEqual(next.refreshToken, access.refreshToken, 'new refresh token (rotation)');
    const ms = next.expiration.getTime();
    assert.ok(ms >= t0 + 7200e3 && ms <= t1 + 7200e3, 'expires_in is 7200 s');
    const user = await smartcar.getUser(next.accessToken);
    assert.equal(user.id, (await smartcar.getUser(access.accessToken)).id, 'same user after refresh');
    assert.deepEqual((await smartcar.getVehicles(next.accessToken)).vehicles,
      (await smartcar.getVehicles(access.accessToken)).vehicles, 'same grant after refresh');
    // With options.flags the SDK adds ?flags=... to the token POST (§3.1).
    const again = await client.exchangeRefreshToken(access.refreshToken, {flags: {country: 'US'}});
    assert.ok(again.accessToken, 'old refresh token accepted right after use');
  });

  it('rejects an unknown refresh token with 400 (§3.4)', async () => {
    const err = await smartcarError(client.exchangeRefreshToken(randomUUID()));
    assertOAuthError(err, {statusCode: 400, type: ['invalid_grant', 'invalid_request']});
  });

  it('rejects a wrong client secret with 401 invalid_client (§3.4)', async () => {
    const url = client.getAuthUrl(['read_vehicle_info'], {state: 'bad-secret'});
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    const bad = authClient({clientSecret: 'not-the-secret'});
    const err = await smartcarError(bad.exchangeCode(params.code));
    assertOAuthError(err, {statusCode: 401, type: 'invalid_client'});
    // The code was not spent by the failed attempt: the real client can still use it.
    const ok = await client.exchangeCode(params.code);
    assert.ok(ok.accessToken);
  });

  it('works for an AuthClient without redirectUri (Node then sends redirect_uri=undefined, §3.1)', async () => {
    const bare = new smartcar.AuthClient({mode: 'test'});
    const url = bare.getAuthUrl(['read_vehicle_info'], {state: 'no-redirect'});
    assert.equal(new URL(url).searchParams.get('redirect_uri'), null, 'no redirect_uri in the Connect URL');
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    assert.equal(params.state, 'no-redirect');
    const tokens = await bare.exchangeCode(params.code, {flags: {country: 'US'}});
    assert.ok(tokens.accessToken);
  });

  it('rejects a redirect_uri different from the Connect one (§3.4)', async () => {
    const url = client.getAuthUrl(['read_vehicle_info'], {state: 'mismatch'});
    const {params} = await runConnect(url, REDIRECT_URI, {email: randomEmail()});
    const other = authClient({redirectUri: 'https://example.com/other'});
    const err = await smartcarError(other.exchangeCode(params.code));
    assertOAuthError(err, {statusCode: 400, type: 'invalid_grant', description: /redirect_uri/});
  });
});

describe('getVehicles and getUser (§4.1, §4.2)', () => {
  it('one random-email login gives exactly one CHEVROLET Volt (§7.1)', async () => {
    const {access} = await login({email: randomEmail(), make: 'CHEVROLET'});
    const res = await smartcar.getVehicles(access.accessToken);
    assertKeys(res, ['vehicles', 'paging']);
    assertMeta(res);
    assert.equal(res.vehicles.length, 1);
    assert.match(res.vehicles[0], UUID);
    assertExactKeys(res.paging, ['count', 'offset'], 'paging');
    assert.deepEqual(res.paging, {count: 1, offset: 0});
    const attrs = await new smartcar.Vehicle(res.vehicles[0], access.accessToken).attributes();
    assertKeys(attrs, ['id', 'make', 'model', 'year']);
    assert.equal(attrs.id, res.vehicles[0]);
    assert.equal(attrs.make, 'CHEVROLET');
    assert.equal(attrs.model, 'Volt');
    assert.ok(Number.isInteger(attrs.year) && attrs.year >= 1990 && attrs.year <= 2100, `year ${attrs.year}`);

    // Past the end: an empty page that still echoes the offset (Python e2e, §4.2).
    const past = await smartcar.getVehicles(access.accessToken, {limit: 1, offset: 1});
    assert.deepEqual(body(past), {vehicles: [], paging: {count: 1, offset: 1}});
  });

  it('pages through the 30 vehicles of 30-vehicles@smartcar.com with limit/offset (§4.2, §7.2)', async () => {
    const {access} = await login({email: '30-vehicles@smartcar.com', make: 'FORD'});
    const first = await smartcar.getVehicles(access.accessToken);
    assert.equal(first.paging.count, 30, 'paging.count is the total');
    assert.equal(first.paging.offset, 0);
    assert.ok(first.vehicles.length >= 1 && first.vehicles.length <= 30, `default page size ${first.vehicles.length}`);

    const limit = 7;
    const seen = [];
    let pages = 0;
    for (let offset = 0; offset < 30; offset += limit) {
      const page = await smartcar.getVehicles(access.accessToken, {limit, offset});
      assertKeys(page, ['vehicles', 'paging']);
      assert.deepEqual(page.paging, {count: 30, offset});
      assert.equal(page.vehicles.length, Math.min(limit, 30 - offset), `page at offset ${offset}`);
      for (const id of page.vehicles) assert.match(id, UUID);
      seen.push(...page.vehicles);
      pages++;
    }
    assert.equal(pages, 5);
    assert.equal(seen.length, 30);
    assert.equal(new Set(seen).size, 30, 'all 30 ids distinct');
    // The default page is the start of the same order.
    assert.deepEqual(first.vehicles, seen.slice(0, first.vehicles.length));
  });

  it('getUser returns exactly {id}, stable for the same login (§4.1)', async () => {
    const email = randomEmail();
    const a = await login({email});
    const userA = await smartcar.getUser(a.access.accessToken);
    assertKeys(userA, ['id']);
    assertMeta(userA);
    assert.match(userA.id, UUID);
    const b = await login({email});
    const userB = await smartcar.getUser(b.access.accessToken);
    assert.equal(userB.id, userA.id, 'same email, same user');
    assert.deepEqual(b.vehicles, a.vehicles, 'same email and brand, same vehicle ids');
  });
});

describe('Vehicle methods on a phev test vehicle, metric (§4.1, §7.1)', () => {
  let vehicle;
  let vehicleId;

  before(async () => {
    const {access, vehicles} = await login({email: `${PHEV_VIN}@phev.smartcar.com`, make: 'CHEVROLET'});
    assert.equal(vehicles.length, 1);
    vehicleId = vehicles[0];
    vehicle = new smartcar.Vehicle(vehicleId, access.accessToken);
  });

  it('attributes', async () => {
    const res = await vehicle.attributes();
    assertKeys(res, ['id', 'make', 'model', 'year']);
    assertMeta(res);
    assert.equal(res.id, vehicleId);
    assert.equal(typeof res.make, 'string');
    assert.equal(typeof res.model, 'string');
    assert.ok(Number.isInteger(res.year));
  });

  it('vin is the VIN of the login email (§7.2)', async () => {
    const res = await vehicle.vin();
    assertKeys(res, ['vin']);
    assertMeta(res);
    assert.equal(res.vin, PHEV_VIN);
  });

  it('odometer, random per request (§7.1)', async () => {
    const seen = new Set();
    for (let i = 0; i < 3; i++) {
      const res = await vehicle.odometer();
      assertKeys(res, ['distance']);
      assertMeta(res, {data: true});
      assertBetween(res.distance, 10000, 300000, 'distance km');
      seen.add(res.distance);
    }
    assert.ok(seen.size > 1, `three reads gave one value: ${[...seen]}`);
  });

  it('location (inside Colorado)', async () => {
    const res = await vehicle.location();
    assertKeys(res, ['latitude', 'longitude']);
    assertMeta(res, {data: true});
    assertBetween(res.latitude, 36.99, 41.01, 'latitude');
    assertBetween(res.longitude, -109.06, -102.04, 'longitude');
  });

  it('fuel', async () => {
    const res = await vehicle.fuel();
    assertKeys(res, ['range', 'percentRemaining', 'amountRemaining']);
    assertMeta(res, {data: true});
    assertBetween(res.range, 0, 483, 'range km');
    assertFraction(res.percentRemaining, 'percentRemaining');
    assertBetween(res.amountRemaining, 0, 500, 'amountRemaining L');
  });

  it('battery', async () => {
    const res = await vehicle.battery();
    assertKeys(res, ['range', 'percentRemaining']);
    assertMeta(res, {data: true});
    assertBetween(res.range, 0, 483, 'range km');
    assertFraction(res.percentRemaining, 'percentRemaining');
  });

  it('batteryCapacity', async () => {
    const res = await vehicle.batteryCapacity();
    assertKeys(res, ['capacity']);
    assertMeta(res, {data: true});
    assertBetween(res.capacity, 1, 300, 'capacity kWh');
  });

  it('nominalCapacity', async () => {
    const res = await vehicle.nominalCapacity();
    assertKeys(res, ['availableCapacities', 'capacity', 'url']);
    assertMeta(res);
    assert.ok(Array.isArray(res.availableCapacities));
    for (const c of res.availableCapacities) {
      assertExactKeys(c, ['capacity', 'description'], 'availableCapacities[]');
      assertBetween(c.capacity, 1, 300, 'availableCapacities[].capacity');
      assert.ok(c.description === null || typeof c.description === 'string');
    }
    assert.ok(res.capacity === null || typeof res.capacity === 'number', `capacity ${res.capacity}`);
    assert.ok(res.url === null || typeof res.url === 'string', `url ${res.url}`);
  });

  it('charge', async () => {
    const res = await vehicle.charge();
    assertKeys(res, ['isPluggedIn', 'state']);
    assertMeta(res, {data: true});
    assert.equal(typeof res.isPluggedIn, 'boolean');
    assert.ok(['CHARGING', 'FULLY_CHARGED', 'NOT_CHARGING'].includes(res.state), `state ${res.state}`);
  });

  it('getChargeLimit', async () => {
    const res = await vehicle.getChargeLimit();
    assertKeys(res, ['limit']);
    assertMeta(res, {data: true});
    assertFraction(res.limit, 'limit');
  });

  it('setChargeLimit (the SDK sends the limit as a string, §8)', async () => {
    const res = await vehicle.setChargeLimit(0.8);
    assert.deepEqual(body(res), ACTION_OK);
    assertMeta(res);
  });

  it('startCharge and stopCharge', async () => {
    for (const action of ['startCharge', 'stopCharge']) {
      const res = await vehicle[action]();
      assert.deepEqual(body(res), ACTION_OK, action);
      assertMeta(res);
    }
  });

  it('engineOil', async () => {
    const res = await vehicle.engineOil();
    assertKeys(res, ['lifeRemaining']);
    assertMeta(res, {data: true});
    assertFraction(res.lifeRemaining, 'lifeRemaining');
  });

  it('tirePressure', async () => {
    const res = await vehicle.tirePressure();
    assertKeys(res, ['frontLeft', 'frontRight', 'backLeft', 'backRight']);
    assertMeta(res, {data: true});
    for (const k of ['frontLeft', 'frontRight', 'backLeft', 'backRight']) assertBetween(res[k], 175, 237, `${k} kPa`);
  });

  it('lockStatus (§4.4)', async () => {
    const res = await vehicle.lockStatus();
    assertKeys(res, ['isLocked', 'doors', 'windows', 'sunroof', 'storage', 'chargingPort']);
    assertMeta(res, {data: true});
    assert.equal(typeof res.isLocked, 'boolean');
    const types = {
      doors: ['frontLeft', 'frontRight', 'backLeft', 'backRight'],
      windows: ['frontLeft', 'frontRight', 'backLeft', 'backRight'],
      sunroof: ['sunroof'],
      storage: ['front', 'rear'],
      chargingPort: ['chargingPort'],
    };
    for (const [key, allowed] of Object.entries(types)) {
      assert.ok(Array.isArray(res[key]), `${key} is an array`);
      for (const item of res[key]) {
        assertExactKeys(item, ['type', 'status'], `${key}[]`);
        assert.ok(allowed.includes(item.type), `${key}[].type ${item.type}`);
        assert.ok(['OPEN', 'CLOSED', 'UNKNOWN'].includes(item.status), `${key}[].status ${item.status}`);
      }
    }
  });

  it('lock and unlock', async () => {
    for (const action of ['lock', 'unlock']) {
      const res = await vehicle[action]();
      assert.deepEqual(body(res), ACTION_OK, action);
      assertMeta(res);
    }
  });

  it('reads back the charge limit sent as a string, and the lock state (sandbox: commands are remembered)', async () => {
    await vehicle.setChargeLimit(0.75);
    assert.equal((await vehicle.getChargeLimit()).limit, 0.75);
    await vehicle.lock();
    assert.equal((await vehicle.lockStatus()).isLocked, true);
    await vehicle.unlock();
    assert.equal((await vehicle.lockStatus()).isLocked, false);
  });

  it('setChargeLimit out of range: 400 VALIDATION (§6.2)', async () => {
    const err = await smartcarError(vehicle.setChargeLimit(1.5));
    assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: [undefined, 'PARAMETER']});
  });

  it('sendDestination', async () => {
    const res = await vehicle.sendDestination(39.7392, -104.9903);
    assert.deepEqual(body(res), ACTION_OK);
    assertMeta(res);
  });

  it('serviceHistory with a date window returns records inside it (§4.5)', async () => {
    const end = new Date();
    const start = new Date(end.getTime() - 2 * 365 * 24 * 3600e3);
    // Test mode returns a random number of records (possibly none): read a few answers.
    const records = [];
    for (let i = 0; i < 5; i++) {
      const res = await vehicle.serviceHistory(start.toISOString(), end.toISOString());
      assertKeys(res, ['data'], 'SDK wraps a JSON array as {data}');
      assertMeta(res);
      assert.ok(Array.isArray(res.data));
      records.push(...res.data);
    }
    for (const rec of records) {
      assertExactKeys(rec, ['serviceId', 'serviceDate', 'odometerDistance', 'serviceTasks', 'serviceDetails', 'serviceCost'], 'service record');
      assert.ok(rec.serviceId === null || typeof rec.serviceId === 'number', `serviceId ${rec.serviceId}`);
      const d = new Date(rec.serviceDate);
      assert.ok(!Number.isNaN(d.getTime()), `serviceDate ${rec.serviceDate}`);
      assert.ok(d >= start && d <= end, `serviceDate ${rec.serviceDate} inside the window`);
      assert.equal(typeof rec.odometerDistance, 'number');
      assert.ok(Array.isArray(rec.serviceTasks));
      for (const t of rec.serviceTasks) assert.ok('taskId' in t && 'taskDescription' in t, JSON.stringify(t));
      assert.equal(typeof rec.serviceDetails, 'object');
      assert.equal(typeof rec.serviceCost, 'object');
    }
  });

  it('serviceHistory without dates (the SDK sends start_date=undefined&end_date=undefined)', async () => {
    const res = await vehicle.serviceHistory();
    assert.ok(Array.isArray(res.data));
    assertMeta(res);
  });

  it('diagnosticSystemStatus', async () => {
    const res = await vehicle.diagnosticSystemStatus();
    assertKeys(res, ['systems']);
    assertMeta(res);
    assert.ok(Array.isArray(res.systems));
    for (const s of res.systems) {
      assertExactKeys(s, ['systemId', 'status', 'description'], 'systems[]');
      assert.equal(typeof s.systemId, 'string');
      assert.ok(['OK', 'ALERT'].includes(s.status), `status ${s.status}`);
      assert.ok(s.description === null || typeof s.description === 'string');
    }
  });

  it('diagnosticTroubleCodes', async () => {
    const res = await vehicle.diagnosticTroubleCodes();
    assertKeys(res, ['activeCodes']);
    assertMeta(res);
    assert.ok(Array.isArray(res.activeCodes));
    for (const c of res.activeCodes) {
      assertExactKeys(c, ['code', 'timestamp'], 'activeCodes[]');
      assert.equal(typeof c.code, 'string');
      assert.ok(c.timestamp === null || !Number.isNaN(new Date(c.timestamp).getTime()), `timestamp ${c.timestamp}`);
    }
  });

  it('request() reaches the same endpoint and returns {body, meta} (§4.8)', async () => {
    const res = await vehicle.request('GET', 'odometer');
    assertExactKeys(res, ['body', 'meta'], 'request() result');
    assertExactKeys(res.body, ['distance'], 'body');
    assertMeta({meta: res.meta}, {data: true});
  });

  it('request() on an unknown path: 404 RESOURCE_NOT_FOUND (§6.2)', async () => {
    const err = await smartcarError(vehicle.request('GET', 'no/such/endpoint'));
    assertV2Error(err, {statusCode: 404, type: 'RESOURCE_NOT_FOUND', code: 'PATH'});
  });

  it('request() with any numeric API version works like 2.0; a non-numeric one is 404 (§1.3)', async () => {
    const res = await vehicle.request('GET', 'odometer', null, {}, '99999999.99');
    assertExactKeys(res.body, ['distance'], 'body');
    const err = await smartcarError(vehicle.request('GET', 'odometer', null, {}, 'abc'));
    assertV2Error(err, {statusCode: 404, type: 'RESOURCE_NOT_FOUND', code: ['PATH', 'VERSION']});
  });

  it('permissions echo the granted scope without required: (§7.1)', async () => {
    const res = await vehicle.permissions();
    assertKeys(res, ['permissions', 'paging']);
    assertMeta(res);
    assert.deepEqual([...res.permissions].sort(), [...ALL_PERMISSIONS].sort());
    assert.deepEqual(res.paging, {count: ALL_PERMISSIONS.length, offset: 0});
    const page = await vehicle.permissions({limit: 2, offset: 1});
    assert.deepEqual(page.paging, {count: ALL_PERMISSIONS.length, offset: 1});
    assert.deepEqual(page.permissions, res.permissions.slice(1, 3));
  });
});

describe('Vehicle with unitSystem imperial (§4.1, §5)', () => {
  let vehicle;

  before(async () => {
    const {access, vehicles} = await login({email: `${PHEV_VIN}@phev.smartcar.com`});
    vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken, {unitSystem: 'imperial'});
  });

  it('odometer in miles', async () => {
    const res = await vehicle.odometer();
    assertMeta(res, {data: true, unitSystem: 'imperial'});
    assertBetween(res.distance, 10000 * KM_TO_MI / SLACK, 300000 * KM_TO_MI * SLACK, 'distance mi');
  });

  it('fuel in miles and US gallons', async () => {
    const res = await vehicle.fuel();
    assertKeys(res, ['range', 'percentRemaining', 'amountRemaining']);
    assertMeta(res, {data: true, unitSystem: 'imperial'});
    assertBetween(res.range, 0, 483 * KM_TO_MI * SLACK, 'range mi');
    assertFraction(res.percentRemaining, 'percentRemaining');
    assertBetween(res.amountRemaining, 0, 500 * L_TO_GAL * SLACK, 'amountRemaining gal');
  });

  it('battery range in miles', async () => {
    const res = await vehicle.battery();
    assertMeta(res, {data: true, unitSystem: 'imperial'});
    assertBetween(res.range, 0, 483 * KM_TO_MI * SLACK, 'range mi');
  });

  it('ignores the flags query the SDK adds for new Vehicle(..., {flags}) (§1.4)', async () => {
    const flagged = new smartcar.Vehicle(vehicle.id, vehicle.token, {unitSystem: 'imperial', flags: {country: 'US', foo: 'bar'}});
    const res = await flagged.odometer();
    assertKeys(res, ['distance']);
    assertMeta(res, {data: true, unitSystem: 'imperial'});
  });

  it('tire pressure in psi', async () => {
    const res = await vehicle.tirePressure();
    assertMeta(res, {data: true, unitSystem: 'imperial'});
    for (const k of ['frontLeft', 'frontRight', 'backLeft', 'backRight']) {
      assertBetween(res[k], 175 * KPA_TO_PSI / SLACK, 237 * KPA_TO_PSI * SLACK, `${k} psi`);
    }
  });
});

describe('batch (§4.3)', () => {
  let access;
  let vehicleId;

  before(async () => {
    ({access, vehicles: [vehicleId]} = await login({email: `${PHEV_VIN}@phev.smartcar.com`}));
  });

  it('returns one function per path, each giving the body and merged meta', async () => {
    const vehicle = new smartcar.Vehicle(vehicleId, access.accessToken);
    const res = await vehicle.batch(['/odometer', '/location', '/', '/tires/pressure', '/security',
      '/battery/capacity', '/engine/oil', '/charge/limit', '/diagnostics/dtcs', '/vin']);
    assert.deepEqual(Object.keys(res).sort(), ['attributes', 'batteryCapacity', 'chargeLimit',
      'diagnosticTroubleCodes', 'engineOil', 'location', 'lockStatus', 'odometer', 'tirePressure', 'vin'].sort());
    const odometer = res.odometer();
    assertKeys(odometer, ['distance']);
    assertMeta(odometer, {data: true});
    assertBetween(odometer.distance, 10000, 300000, 'distance km');
    const location = res.location();
    assertKeys(location, ['latitude', 'longitude']);
    assertMeta(location, {data: true});
    const attrs = res.attributes();
    assertKeys(attrs, ['id', 'make', 'model', 'year']);
    assert.equal(attrs.id, vehicleId);
    assertKeys(res.tirePressure(), ['frontLeft', 'frontRight', 'backLeft', 'backRight']);
    assertKeys(res.lockStatus(), ['isLocked', 'doors', 'windows', 'sunroof', 'storage', 'chargingPort']);
    assertKeys(res.batteryCapacity(), ['capacity']);
    assertFraction(res.engineOil().lifeRemaining, 'lifeRemaining');
    assertFraction(res.chargeLimit().limit, 'limit');
    assertKeys(res.diagnosticTroubleCodes(), ['activeCodes']);
    assert.equal(res.vin().vin, PHEV_VIN);
  });

  it('applies sc-unit-system to every item', async () => {
    const vehicle = new smartcar.Vehicle(vehicleId, access.accessToken, {unitSystem: 'imperial'});
    const res = await vehicle.batch(['/odometer', '/tires/pressure']);
    const odometer = res.odometer();
    assertMeta(odometer, {data: true, unitSystem: 'imperial'});
    assertBetween(odometer.distance, 10000 * KM_TO_MI / SLACK, 300000 * KM_TO_MI * SLACK, 'distance mi');
    assertBetween(res.tirePressure().frontLeft, 175 * KPA_TO_PSI / SLACK, 237 * KPA_TO_PSI * SLACK, 'psi');
  });

  it('a failed item throws its SmartcarError when read; the others still work (§6.3)', async () => {
    const {access: bevAccess, vehicles} = await login({email: `${BEV_VIN}@bev.smartcar.com`, make: 'TESLA'});
    const vehicle = new smartcar.Vehicle(vehicles[0], bevAccess.accessToken);
    const res = await vehicle.batch(['/fuel', '/battery']);
    const battery = res.battery();
    assertKeys(battery, ['range', 'percentRemaining']);
    let err;
    try {
      res.fuel();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof smartcar.SmartcarError, `fuel() throws a SmartcarError (${err})`);
    // SDK quirk: statusCode is the HTTP status of the batch response (200), not the item's.
    assertV2Error(err, {statusCode: 200, type: 'COMPATIBILITY', code: 'VEHICLE_NOT_CAPABLE'});
  });
});

describe('batch items carry per-item errors (§4.3)', () => {
  it('an error account fails data items but not vin; a missing permission fails its item (§6.2, §7.2)', async () => {
    const asleep = await login({email: 'VEHICLE_STATE.ASLEEP@smartcar.com'});
    const res = await new smartcar.Vehicle(asleep.vehicles[0], asleep.access.accessToken).batch(['/odometer', '/vin']);
    assertKeys(res.vin(), ['vin']);
    let err;
    try {
      res.odometer();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof smartcar.SmartcarError, `odometer() throws (${err})`);
    assertV2Error(err, {statusCode: 200, type: 'VEHICLE_STATE', code: 'ASLEEP', resolution: 'RETRY_LATER'});

    const narrow = await login({scope: ['read_vehicle_info', 'read_location']});
    const res2 = await new smartcar.Vehicle(narrow.vehicles[0], narrow.access.accessToken).batch(['/location', '/odometer']);
    assertKeys(res2.location(), ['latitude', 'longitude']);
    err = undefined;
    try {
      res2.odometer();
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof smartcar.SmartcarError, `odometer() throws (${err})`);
    assertV2Error(err, {statusCode: 200, type: 'PERMISSION', resolution: 'REAUTHENTICATE', description: DESCRIPTIONS.PERMISSION});
  });
});

/** A raw HTTP exchange that keeps header names exactly as sent (fetch lower-cases them). */
function rawRequest(url, {method = 'GET', headers = {}, body} = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method, headers, agent: false}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const names = res.rawHeaders.filter((_, i) => i % 2 === 0);
        resolve({status: res.statusCode, names, headers: res.headers, body: Buffer.concat(chunks).toString()});
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('wire details other SDKs depend on (§4.3, §5, §11)', () => {
  let access;
  let vehicleId;

  before(async () => {
    ({access, vehicles: [vehicleId]} = await login({email: `${PHEV_VIN}@phev.smartcar.com`}));
  });

  it('sends sc-* and content-type header names in lower case (Java reads them case-sensitively)', async () => {
    const res = await rawRequest(`${ORIGIN}/v2.0/vehicles/${vehicleId}/odometer`, {
      headers: {Authorization: `Bearer ${access.accessToken}`, 'sc-unit-system': 'metric'},
    });
    assert.equal(res.status, 200, res.body);
    for (const name of ['sc-request-id', 'sc-data-age', 'sc-fetched-at', 'sc-unit-system', 'content-type']) {
      assert.ok(res.names.includes(name), `header ${name} sent in lower case (got ${res.names})`);
    }
    const limited = await login({email: 'RATE_LIMIT.VEHICLE@smartcar.com'});
    const err = await rawRequest(`${ORIGIN}/v2.0/vehicles/${limited.vehicles[0]}/odometer`, {
      headers: {Authorization: `Bearer ${limited.access.accessToken}`},
    });
    assert.equal(err.status, 429);
    for (const name of ['sc-request-id', 'retry-after', 'content-type']) {
      assert.ok(err.names.includes(name), `header ${name} sent in lower case (got ${err.names})`);
    }
    const errBody = JSON.parse(err.body);
    assertExactKeys(errBody, ['type', 'code', 'description', 'docURL', 'statusCode', 'requestId', 'resolution',
      'suggestedUserMessage'], 'v2 error body (§6.1)');
    assert.equal(errBody.statusCode, 429);
    assert.equal(errBody.requestId, err.headers['sc-request-id']);
  });

  it('gives every batch item path, code, a headers object and body (Python writes into headers)', async () => {
    const res = await rawRequest(`${ORIGIN}/v2.0/vehicles/${vehicleId}/batch`, {
      method: 'POST',
      headers: {Authorization: `Bearer ${access.accessToken}`, 'content-type': 'application/json'},
      // A known endpoint with a bad query fails its item (a path that is no endpoint
      // fails the whole batch: management.test.mjs).
      body: JSON.stringify({requests: [{path: '/odometer'}, {path: '/vin'}, {path: '/service/history?start_date=yesterday'}]}),
    });
    assert.equal(res.status, 200, res.body);
    const {responses} = JSON.parse(res.body);
    assert.equal(responses.length, 3);
    for (const item of responses) {
      assertExactKeys(item, ['path', 'code', 'headers', 'body'], `batch item ${item.path}`);
      assert.equal(typeof item.headers, 'object');
      assert.notEqual(item.headers, null);
    }
    assert.deepEqual(responses.map((r) => r.path), ['/odometer', '/vin', '/service/history?start_date=yesterday']);
    assert.deepEqual(responses.map((r) => r.code), [200, 200, 400]);
    assert.equal(responses[0].headers['sc-unit-system'], 'metric');
    assert.ok(responses[0].headers['sc-data-age'], 'data item carries sc-data-age');
    assert.equal(responses[2].body.type, 'VALIDATION');
  });
});

describe('webhooks subscribe / unsubscribe (§4.1, §9)', () => {
  // A bogus webhook id and a wrong management token: management.test.mjs.
  it('subscribe echoes webhookId and vehicleId; unsubscribe with the AMT succeeds', async () => {
    const AMT = process.env.CONFORMANCE_MANAGEMENT_TOKEN;
    const res = await fetch(`${ORIGIN}/v3/webhooks`, {
      method: 'POST',
      headers: {'Authorization': `Bearer ${AMT}`, 'Content-Type': 'application/json'},
      // Nothing answers this callback: the v2 routes do not need a verified webhook.
      body: JSON.stringify({data: {type: 'webhook', attributes: {name: 'v2 subscribe', callbackUri: `${ORIGIN}/no-receiver`}}}),
    });
    assert.equal(res.status, 201);
    const {data: {id: webhookId}} = await res.json();
    const {access, vehicles: [vehicleId]} = await login();
    const vehicle = new smartcar.Vehicle(vehicleId, access.accessToken);
    const sub = await vehicle.subscribe(webhookId);
    assert.deepEqual(body(sub), {webhookId, vehicleId});
    assertMeta(sub);
    const unsub = await vehicle.unsubscribe(AMT, webhookId);
    assert.deepEqual(body(unsub), {status: 'success'});
    assertMeta(unsub);
  });
});

describe('webhook payloads from the sandbox (§9)', () => {
  const AMT = process.env.CONFORMANCE_MANAGEMENT_TOKEN;

  /** A callback on loopback that keeps each payload's raw body and SC-Signature. */
  async function receiver() {
    const got = [];
    const server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (c) => { raw += c; });
      req.on('end', () => {
        const payload = JSON.parse(raw);
        got.push({raw, payload, signature: req.headers['sc-signature']});
        res.setHeader('Content-Type', 'application/json');
        if (payload.eventType === 'VERIFY') {
          res.end(JSON.stringify({challenge: smartcar.hashChallenge(AMT, payload.data.challenge)}));
          return;
        }
        res.end('{}');
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {got, server, url: `http://127.0.0.1:${server.address().port}/webhooks`};
  }

  /** Waits (on the control API) until the webhook made `attempts` attempts. */
  async function deliveries(id, attempts) {
    const res = await fetch(`${ORIGIN}/__sandbox/api/webhooks/${id}/deliveries?attempts=${attempts}`);
    assert.equal(res.status, 200);
    return (await res.json()).deliveries;
  }

  it('hashChallenge answers VERIFY and verifyPayload accepts every payload (compact JSON)', async () => {
    assert.ok(AMT, 'CONFORMANCE_MANAGEMENT_TOKEN is set (conformance/node_test.go)');
    const {got, server, url} = await receiver();
    try {
      const res = await fetch(`${ORIGIN}/v3/webhooks`, {
        method: 'POST',
        headers: {'Authorization': `Bearer ${AMT}`, 'Content-Type': 'application/json'},
        body: JSON.stringify({data: {type: 'webhook', attributes: {name: 'Node <conformance> & co', callbackUri: url}}}),
      });
      assert.equal(res.status, 201);
      const {data: {id}} = await res.json();
      const [verify] = await deliveries(id, 1);
      assert.equal(verify.eventType, 'VERIFY');
      assert.equal(verify.outcome, 'verified', 'the sandbox took the answer hashChallenge made');

      const {access, vehicles: [vehicleId]} = await login();
      await new smartcar.Vehicle(vehicleId, access.accessToken).subscribe(id);
      await deliveries(id, 2);
      const state = got.filter((g) => g.payload.eventType === 'VEHICLE_STATE');
      assert.equal(state.length, 1, 'the first delivery after subscribing');
      assert.equal(state[0].payload.data.vehicle.id, vehicleId);
      assert.equal(state[0].payload.meta.webhookName, 'Node <conformance> & co');
      for (const g of got) {
        assert.equal(JSON.stringify(g.payload), g.raw, 'the body is what JSON.stringify gives back');
        assert.ok(smartcar.verifyPayload(AMT, g.signature, g.payload), `verifyPayload accepts the ${g.payload.eventType} payload`);
        assert.ok(!smartcar.verifyPayload('another-token', g.signature, g.payload), 'and refuses it with another token');
      }
    } finally {
      server.close();
    }
  });
});

describe('errors as SmartcarError (§6)', () => {
  it('a garbage access token: 401 AUTHENTICATION on vehicle, vehicles and user calls', async () => {
    const want = {
      statusCode: 401, type: 'AUTHENTICATION', description: DESCRIPTIONS.AUTHENTICATION,
      docURL: 'https://smartcar.com/docs/errors/api-errors/authentication-errors#null',
    };
    const vehicle = new smartcar.Vehicle(randomUUID(), 'garbage-token');
    assertV2Error(await smartcarError(vehicle.odometer()), want);
    assertV2Error(await smartcarError(smartcar.getVehicles('garbage-token')), want);
    assertV2Error(await smartcarError(smartcar.getUser('garbage-token')), want);
  });

  it('a malformed vehicle id: 400 VALIDATION (§6.2)', async () => {
    const {access} = await login();
    const err = await smartcarError(new smartcar.Vehicle('bad_id', access.accessToken).attributes());
    assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: [undefined, 'PARAMETER'], description: DESCRIPTIONS.VALIDATION});
  });

  it('a bev vehicle asked for fuel: 501 COMPATIBILITY VEHICLE_NOT_CAPABLE (§7.2)', async () => {
    const {access, vehicles} = await login({email: `${BEV_VIN}@bev.smartcar.com`, make: 'TESLA'});
    const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
    assert.equal((await vehicle.vin()).vin, BEV_VIN);
    await vehicle.battery();
    for (const call of ['fuel', 'engineOil']) {
      const err = await smartcarError(vehicle[call]());
      assertV2Error(err, {statusCode: 501, type: 'COMPATIBILITY', code: 'VEHICLE_NOT_CAPABLE'});
    }
  });

  it('a fuel vehicle asked for battery: 501 COMPATIBILITY VEHICLE_NOT_CAPABLE (§7.2)', async () => {
    const {access, vehicles} = await login({email: `${FUEL_VIN}@fuel.smartcar.com`, make: 'FORD'});
    const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
    await vehicle.fuel();
    const err = await smartcarError(vehicle.battery());
    assertV2Error(err, {statusCode: 501, type: 'COMPATIBILITY', code: 'VEHICLE_NOT_CAPABLE'});
  });

  it('VEHICLE_STATE.ASLEEP@smartcar.com: 409 with RETRY_LATER; static endpoints keep working (§6.2, §7.2)', async () => {
    const {access, vehicles} = await login({email: 'VEHICLE_STATE.ASLEEP@smartcar.com'});
    const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
    const err = await smartcarError(vehicle.odometer());
    assertV2Error(err, {
      statusCode: 409, type: 'VEHICLE_STATE', code: 'ASLEEP', resolution: 'RETRY_LATER',
      description: DESCRIPTIONS.ASLEEP,
      docURL: 'https://smartcar.com/docs/errors/api-errors/vehicle-state-errors#asleep',
    });
    assertV2Error(await smartcarError(vehicle.lock()), {statusCode: 409, type: 'VEHICLE_STATE', code: 'ASLEEP'});
    assertKeys(await vehicle.vin(), ['vin']);
    assertKeys(await vehicle.attributes(), ['id', 'make', 'model', 'year']);
    assertKeys(await vehicle.permissions(), ['permissions', 'paging']);
  });

  for (const acct of [
    {type: 'VEHICLE_STATE', code: 'UNKNOWN', statusCode: 409, resolution: 'RETRY_LATER',
      description: 'The vehicle was unable to perform your request due to an unknown issue.'},
    {type: 'CONNECTED_SERVICES_ACCOUNT', code: 'VEHICLE_MISSING', statusCode: 400, resolution: null,
      description: 'This vehicle is no longer associated with the user\'s connected services account. ' +
        'Please prompt the user to re-add the vehicle to their account.'},
  ]) {
    it(`${acct.type}.${acct.code}@smartcar.com fails every non-static endpoint the same way (§6.2, §7.2)`, async () => {
      const {access, vehicles} = await login({email: `${acct.type}.${acct.code}@smartcar.com`});
      const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
      for (const call of ['odometer', 'location', 'fuel', 'lockStatus', 'unlock', 'diagnosticTroubleCodes']) {
        const err = await smartcarError(vehicle[call]());
        assertV2Error(err, acct);
      }
      assertKeys(await vehicle.vin(), ['vin']);
    });
  }

  it('a vehicle id granted to another login: 401 AUTHENTICATION (sandbox choice, docs/sandbox.md)', async () => {
    const a = await login();
    const b = await login();
    const err = await smartcarError(new smartcar.Vehicle(b.vehicles[0], a.access.accessToken).odometer());
    assertV2Error(err, {statusCode: 401, type: 'AUTHENTICATION', description: DESCRIPTIONS.AUTHENTICATION});
  });

  it('RATE_LIMIT.VEHICLE@smartcar.com: 429 with retryAfter (§6.2)', async () => {
    const {access, vehicles} = await login({email: 'RATE_LIMIT.VEHICLE@smartcar.com'});
    const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
    const err = await smartcarError(vehicle.odometer());
    assertV2Error(err, {
      statusCode: 429, type: 'RATE_LIMIT', code: 'VEHICLE', resolution: 'RETRY_LATER',
      description: DESCRIPTIONS.RATE_LIMIT_VEHICLE, retryAfter: true,
    });
  });

  it('a permission not granted: 403 PERMISSION with REAUTHENTICATE (§6.2)', async () => {
    const {access, vehicles} = await login({scope: ['read_vehicle_info']});
    const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
    await vehicle.attributes();
    const want = {
      statusCode: 403, type: 'PERMISSION', resolution: 'REAUTHENTICATE', description: DESCRIPTIONS.PERMISSION,
    };
    assertV2Error(await smartcarError(vehicle.odometer()), want);
    assertV2Error(await smartcarError(vehicle.lock()), want);
    const perms = await vehicle.permissions();
    assert.deepEqual(perms.permissions, ['read_vehicle_info']);
  });

  it('disconnect answers {status} and then the token no longer reaches the vehicle (§7.1)', async () => {
    const {access, vehicles} = await login();
    const vehicle = new smartcar.Vehicle(vehicles[0], access.accessToken);
    await vehicle.odometer();
    const res = await vehicle.disconnect();
    assert.deepEqual(body(res), {status: 'success'});
    assertMeta(res);
    // Smartcar does not document this answer; the sandbox chose 401 AUTHENTICATION (the
    // token no longer covers the vehicle, and re-running Connect is the fix).
    const want = {statusCode: 401, type: 'AUTHENTICATION', description: DESCRIPTIONS.AUTHENTICATION};
    assertV2Error(await smartcarError(vehicle.odometer()), want);
    assertV2Error(await smartcarError(vehicle.attributes()), want);
    const after = await smartcar.getVehicles(access.accessToken);
    assert.ok(!after.vehicles.includes(vehicles[0]), 'the disconnected vehicle is no longer listed');
  });
});
