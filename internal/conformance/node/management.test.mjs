// Conformance test: the official Node SDK's management calls (smartcar.getConnections,
// smartcar.deleteConnections), which authenticate with Basic base64("default:" + AMT)
// at SMARTCAR_MANAGEMENT_API_ORIGIN + /v2.0/management/connections; the management
// token checked before anything else (vehicle.unsubscribe); and Smartcar's VALIDATION
// answers to a bogus webhook id (vehicle.subscribe) and a misspelled batch path.
// Expectations follow the SDK's own e2e suites (node-sdk test/end-to-end/index.js and
// vehicle.js, python-sdk tests/e2e) and Smartcar's management API reference.
//
// Environment (set by conformance/node_test.go): as sdk.test.mjs, plus
//   SMARTCAR_MANAGEMENT_API_ORIGIN   the sandbox origin
//   CONFORMANCE_MANAGEMENT_TOKEN     the registered client's application management token
//
// The other test files connect vehicles to the same app at the same time, so these
// tests look only at the connections of their own accounts (emails no other file uses).

import {describe, it, before} from 'node:test';
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import smartcar from 'smartcar';
import {runConnect} from './lib/connect.mjs';
import {UUID, body, assertExactKeys, assertMeta, smartcarError, assertV2Error, assertOAuthError} from './lib/expect.mjs';

const ORIGIN = process.env.SMARTCAR_API_ORIGIN;
const AMT = process.env.CONFORMANCE_MANAGEMENT_TOKEN;
const REDIRECT_URI = process.env.CONFORMANCE_REDIRECT_URI || 'https://example.com/auth';
const SCOPE = ['read_vehicle_info', 'read_vin', 'read_odometer', 'read_location'];
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const AUTHENTICATION = 'The authorization header is missing or malformed, or it contains invalid or ' +
  'expired authentication credentials. Please check for missing parameters, spelling and casing ' +
  'mistakes, and other syntax issues.';
const VALIDATION = 'Request invalid or malformed. Please check for missing parameters, spelling and ' +
  'casing mistakes, and other syntax issues.';

function authClient() {
  return new smartcar.AuthClient({redirectUri: REDIRECT_URI, mode: 'test'});
}

/** Connects an account's vehicles; returns the tokens, vehicle ids and user id. */
async function connect({email = `${randomUUID()}@email.com`, make = 'CHEVROLET'} = {}) {
  const client = authClient();
  const {params} = await runConnect(client.getAuthUrl(SCOPE, {state: 'mgmt'}), REDIRECT_URI, {email, make});
  assert.ok(params.code, `a code on the redirect: ${JSON.stringify(params)}`);
  const access = await client.exchangeCode(params.code);
  const {vehicles} = await smartcar.getVehicles(access.accessToken);
  const {id: userId} = await smartcar.getUser(access.accessToken);
  return {client, access, vehicles, userId};
}

/** Asserts a GET connection as the SDK returns it. */
function assertConnection(c) {
  assertExactKeys(c, ['userId', 'vehicleId', 'connectedAt', 'mode'], 'connection');
  assert.match(c.userId, UUID);
  assert.match(c.vehicleId, UUID);
  assert.match(c.connectedAt, ISO_MS, 'connectedAt is an ISO time');
  assert.equal(c.mode, 'test');
}

/** Asserts connections come newest first. */
function assertNewestFirst(connections) {
  for (let i = 1; i < connections.length; i++) {
    assert.ok(connections[i - 1].connectedAt >= connections[i].connectedAt,
      `newest first: ${connections[i - 1].connectedAt} before ${connections[i].connectedAt}`);
  }
}

describe('management connections (getConnections, deleteConnections)', () => {
  let account;

  before(async () => {
    assert.ok(AMT, 'CONFORMANCE_MANAGEMENT_TOKEN is set (conformance/node_test.go)');
    assert.equal(process.env.SMARTCAR_MANAGEMENT_API_ORIGIN, ORIGIN, 'the management origin is the sandbox');
    account = await connect({email: '4-vehicles@smartcar.com', make: 'KIA'});
    assert.equal(account.vehicles.length, 4);
  });

  it('getConnections: every connection of the app, newest first, paged by cursor', async () => {
    const res = await smartcar.getConnections(AMT);
    assertExactKeys(body(res), ['connections', 'paging'], 'getConnections body');
    assertMeta(res);
    assert.ok(res.connections.length >= 1 && res.connections.length <= 10, 'a page of the default size (10)');
    // Walk every page: the account's four vehicles are there, once each.
    const seen = [];
    let page = res;
    for (let i = 0; page; i++) {
      assert.ok(i < 1000, 'the cursor ends');
      page.connections.forEach(assertConnection);
      assertNewestFirst(page.connections);
      seen.push(...page.connections);
      page = page.paging.cursor ? await smartcar.getConnections(AMT, {}, {limit: 100, cursor: page.paging.cursor}) : null;
    }
    const mine = seen.filter((c) => c.userId === account.userId).map((c) => c.vehicleId).sort();
    assert.deepEqual(mine, [...account.vehicles].sort());
    assert.equal(new Set(seen.map((c) => `${c.userId}/${c.vehicleId}`)).size, seen.length, 'no connection twice');
  });

  it('getConnections by vehicleId: that vehicle only', async () => {
    const res = await smartcar.getConnections(AMT, {vehicleId: account.vehicles[2]});
    assert.equal(res.connections.length, 1);
    assertConnection(res.connections[0]);
    assert.equal(res.connections[0].vehicleId, account.vehicles[2]);
    assert.equal(res.connections[0].userId, account.userId);
    assert.equal(res.paging.cursor, null, 'the only page: cursor null (python-sdk e2e)');
  });

  it('getConnections by userId: every vehicle of that user', async () => {
    const res = await smartcar.getConnections(AMT, {userId: account.userId});
    assert.equal(res.connections.length, account.vehicles.length);
    for (const c of res.connections) {
      assertConnection(c);
      assert.equal(c.userId, account.userId);
    }
    assert.deepEqual(res.connections.map((c) => c.vehicleId).sort(), [...account.vehicles].sort());
  });

  it('getConnections with a limit: pages of that size, the cursor leads to the rest', async () => {
    const first = await smartcar.getConnections(AMT, {userId: account.userId}, {limit: 3});
    assert.equal(first.connections.length, 3);
    assert.equal(typeof first.paging.cursor, 'string', 'a cursor to the next page');
    const second = await smartcar.getConnections(AMT, {userId: account.userId}, {limit: 3, cursor: first.paging.cursor});
    assert.equal(second.connections.length, 1);
    assert.equal(second.paging.cursor, null, 'the last page');
    const all = [...first.connections, ...second.connections];
    assertNewestFirst(all);
    assert.deepEqual(all.map((c) => c.vehicleId).sort(), [...account.vehicles].sort());
  });

  it('getConnections with a wrong management token: 401 AUTHENTICATION, code null', async () => {
    const err = await smartcarError(smartcar.getConnections('not-the-amt', {vehicleId: 'not-even-a-uuid'}, {limit: 'x'}));
    assertV2Error(err, {statusCode: 401, type: 'AUTHENTICATION', code: undefined, description: AUTHENTICATION,
      docURL: 'https://smartcar.com/docs/errors/api-errors/authentication-errors#null'});
  });

  it('getConnections with a bad limit or cursor: 400 VALIDATION', async () => {
    for (const paging of [{limit: 'ten'}, {limit: -1}, {cursor: 'not-a-cursor'}]) {
      const err = await smartcarError(smartcar.getConnections(AMT, {}, paging));
      assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: 'PARAMETER', description: VALIDATION});
    }
  });

  it('deleteConnections by vehicleId: that connection goes, its vehicle is unreachable at once', async () => {
    const [gone, kept] = account.vehicles;
    const res = await smartcar.deleteConnections(AMT, {vehicleId: gone});
    assertExactKeys(body(res), ['connections'], 'deleteConnections body');
    assertMeta(res);
    assert.equal(res.connections.length, 1);
    assertExactKeys(res.connections[0], ['userId', 'vehicleId'], 'deleted connection');
    assert.deepEqual(res.connections[0], {userId: account.userId, vehicleId: gone});
    const err = await smartcarError(new smartcar.Vehicle(gone, account.access.accessToken).odometer());
    assertV2Error(err, {statusCode: 401, type: 'AUTHENTICATION', code: undefined, description: AUTHENTICATION});
    // The approval's other vehicles still answer.
    await new smartcar.Vehicle(kept, account.access.accessToken).odometer();
    const {connections} = await smartcar.getConnections(AMT, {vehicleId: gone});
    assert.deepEqual(connections, []);
  });

  it('deleteConnections by userId: the rest go, and the tokens stop working at once', async () => {
    const res = await smartcar.deleteConnections(AMT, {userId: account.userId});
    assert.equal(res.connections.length, account.vehicles.length - 1, 'what the test above left');
    for (const c of res.connections) {
      assert.equal(c.userId, account.userId);
    }
    assert.deepEqual(res.connections.map((c) => c.vehicleId).sort(), account.vehicles.slice(1).sort());
    assertV2Error(await smartcarError(smartcar.getUser(account.access.accessToken)),
      {statusCode: 401, type: 'AUTHENTICATION', code: undefined, description: AUTHENTICATION});
    assertV2Error(await smartcarError(new smartcar.Vehicle(account.vehicles[1], account.access.accessToken).odometer()),
      {statusCode: 401, type: 'AUTHENTICATION', code: undefined});
    assertOAuthError(await smartcarError(account.client.exchangeRefreshToken(account.access.refreshToken)),
      {statusCode: 400, type: 'invalid_grant'});
    const again = await smartcar.deleteConnections(AMT, {userId: account.userId});
    assert.deepEqual(again.connections, [], 'nothing left to delete (node-sdk e2e expects the count, not an error)');
  });
});

describe('the management token is checked first; Smartcar\'s VALIDATION answers', () => {
  let vehicle;

  before(async () => {
    const {access, vehicles: [id]} = await connect();
    vehicle = new smartcar.Vehicle(id, access.accessToken);
  });

  it('unsubscribe with a wrong management token: 401 AUTHENTICATION, code null (node-sdk e2e)', async () => {
    const err = await smartcarError(vehicle.unsubscribe('amt', 'webhookID'));
    assertV2Error(err, {statusCode: 401, type: 'AUTHENTICATION', code: undefined, description: AUTHENTICATION,
      docURL: 'https://smartcar.com/docs/errors/api-errors/authentication-errors#null'});
    assert.equal(err.message, `AUTHENTICATION:null - ${AUTHENTICATION}`);
  });

  it('subscribe to an id that is not a webhook: 400 VALIDATION, code null (node-sdk e2e)', async () => {
    for (const id of ['webhookID', randomUUID()]) {
      const err = await smartcarError(vehicle.subscribe(id));
      assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: undefined, description: VALIDATION,
        docURL: 'https://smartcar.com/docs/errors/api-errors/validation-errors#null'});
      assert.equal(err.message, `VALIDATION:null - ${VALIDATION}`);
    }
  });

  it('a batch with a misspelled path: 400 VALIDATION for the whole request (python-sdk e2e)', async () => {
    const err = await smartcarError(vehicle.batch(['/odometer', '/LOCATIONNNNNNNN']));
    assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: undefined, description: VALIDATION});
    // Known endpoints still answer per item.
    const res = await vehicle.batch(['/odometer', '/location']);
    assert.ok(res.odometer().distance > 0);
  });
});
