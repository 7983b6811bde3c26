// Conformance test: the official Node SDK's API v3 calls (smartcar.getVehicle,
// vehicle.getSignals, vehicle.getSignal) against the sandbox's /v3, which the SDK
// reaches through SMARTCAR_API_V3_ORIGIN (node_test.go sets it to the sandbox origin).
// Expected shapes are the ones the SDK's own tests read from Smartcar
// (node-sdk test/end-to-end: response.body.id, response.body.data[0].attributes.status,
// response.body.attributes.status) and what lib/vehicle.js and lib/smartcar-service.js
// do with a v3 answer (the body without its meta, the raw headers beside it).

import {describe, it, before} from 'node:test';
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import smartcar from 'smartcar';
import {runConnect} from './lib/connect.mjs';
import {UUID, assertExactKeys, assertBetween, smartcarError, assertV2Error} from './lib/expect.mjs';

const ORIGIN = process.env.SMARTCAR_API_ORIGIN;
const V3_ORIGIN = process.env.SMARTCAR_API_V3_ORIGIN;
const REDIRECT_URI = process.env.CONFORMANCE_REDIRECT_URI || 'https://example.com/auth';

const SCOPE = ['read_vehicle_info', 'read_vin', 'read_odometer', 'read_location', 'read_fuel', 'read_battery',
  'read_charge', 'control_charge', 'read_engine_oil', 'read_tires', 'read_security', 'control_security'];

/** Connects one vehicle and exchanges the code; returns its id, token and user id. */
async function connect({email, make, scope = SCOPE}) {
  const client = new smartcar.AuthClient({redirectUri: REDIRECT_URI, mode: 'test'});
  const {params} = await runConnect(client.getAuthUrl(scope, {state: 'v3'}), REDIRECT_URI, {email, make});
  assert.ok(params.code, `a code on the redirect: ${JSON.stringify(params)}`);
  assert.match(params.user_id ?? '', UUID, `a user_id next to the code: ${JSON.stringify(params)}`);
  const access = await client.exchangeCode(params.code);
  const {vehicles} = await smartcar.getVehicles(access.accessToken);
  assert.equal(vehicles.length, 1);
  return {id: vehicles[0], token: access.accessToken, userId: params.user_id,
    vehicle: new smartcar.Vehicle(vehicles[0], access.accessToken)};
}

/** The signal of a list body with that code. */
function signal(body, code) {
  const s = body.data.find((d) => d.attributes.code === code);
  assert.ok(s, `${code} in the list (${body.data.map((d) => d.id)})`);
  return s;
}

function assertSuccess(s) {
  assert.equal(s.type, 'signal');
  assert.equal(s.id, s.attributes.code);
  assert.deepEqual(s.attributes.status, {value: 'SUCCESS'}, `${s.id} status`);
  assert.ok(s.attributes.body && typeof s.attributes.body === 'object', `${s.id} has a body`);
  assert.equal(typeof s.meta.retrievedAt, 'number', `${s.id} meta.retrievedAt is epoch milliseconds`);
  assert.equal(typeof s.meta.oemUpdatedAt, 'number', `${s.id} meta.oemUpdatedAt is epoch milliseconds`);
  assert.ok(s.meta.oemUpdatedAt <= s.meta.retrievedAt, `${s.id} recorded before retrieved`);
  assert.equal(s.links.self, `${V3_ORIGIN}/v3/vehicles/${s.links.vehicle.split('/').pop()}/signals/${s.id}`);
}

function assertSignalError(s, type, code) {
  assert.equal(s.attributes.status.value, 'ERROR', `${s.id} status`);
  const e = s.attributes.status.error;
  assert.ok(e, `${s.id} carries its error`);
  assert.equal(e.type, type, `${s.id} error type`);
  assert.equal(e.code, code, `${s.id} error code`);
  assert.equal(typeof e.title, 'string');
  assert.ok(e.detail.length > 0, `${s.id} error detail`);
  assert.ok(e.resolution && 'type' in e.resolution, `${s.id} error resolution`);
  assert.equal(s.attributes.body, undefined, `${s.id} has no value`);
}

describe('API v3 through the Node SDK (SMARTCAR_API_V3_ORIGIN)', () => {
  it('the runner points SMARTCAR_API_V3_ORIGIN at the sandbox', () => {
    assert.equal(V3_ORIGIN, ORIGIN);
  });

  describe('a BEV (Tesla)', () => {
    let bev;
    before(async () => {
      bev = await connect({email: `5YJ3E1EA7KF317000@bev.smartcar.com`, make: 'TESLA'});
    });

    it('smartcar.getVehicle: the vehicle resource at the top of the body (node-sdk e2e: body.id)', async () => {
      const res = await smartcar.getVehicle(bev.token, bev.id);
      assert.equal(res.body.id, bev.id);
      assert.equal(res.body.type, 'vehicle');
      assert.equal(res.body.attributes.make, 'TESLA');
      assert.equal(res.body.attributes.model, 'Model 3');
      assert.equal(typeof res.body.attributes.year, 'number');
      assert.equal(res.body.attributes.powertrainType, 'BEV');
      assert.equal(res.body.links.self, `${V3_ORIGIN}/v3/vehicles/${bev.id}`);
      assert.deepEqual(res.body.data.attributes, res.body.attributes, 'the same resource under data');
      // v3 answers keep the raw, lower-cased headers instead of the v2 meta object.
      assert.match(res.headers['sc-request-id'], UUID);
      assert.equal(res.headers['content-type'], 'application/json');
      const attrs = await bev.vehicle.attributes();
      assert.equal(attrs.year, res.body.attributes.year, 'v2 attributes agree');
    });

    it('vehicle.getSignals: every signal in one page, the first a SUCCESS (node-sdk e2e)', async () => {
      const res = await bev.vehicle.getSignals();
      const {body} = res;
      assert.equal(body.data[0].attributes.status.value, 'SUCCESS');
      assert.equal(body.meta, undefined, 'the SDK drops the list meta (it keeps the headers instead)');
      assert.match(res.headers['sc-request-id'], UUID);
      assert.equal(body.links.self, `${V3_ORIGIN}/v3/vehicles/${bev.id}/signals?page=1&pageSize=${body.data.length}`);
      assert.equal(body.links.next, null);
      assert.equal(body.included.vehicle.id, bev.id);
      for (const code of ['odometer-traveleddistance', 'location-preciselocation', 'tractionbattery-stateofcharge',
        'tractionbattery-range', 'closure-islocked', 'closure-doors', 'closure-windows', 'charge-ischarging',
        'charge-ischargingcableconnected', 'charge-chargelimits']) {
        assertSuccess(signal(body, code));
      }
      const odo = signal(body, 'odometer-traveleddistance');
      assert.equal(odo.attributes.name, 'TraveledDistance');
      assert.equal(odo.attributes.group, 'Odometer');
      assert.equal(odo.attributes.body.unit, 'km');
      assertBetween(odo.attributes.body.value, 10000, 300000, 'odometer (test-mode range)');
      assertBetween(signal(body, 'tractionbattery-stateofcharge').attributes.body.value, 0, 100, 'state of charge');
      const loc = signal(body, 'location-preciselocation').attributes.body;
      assertBetween(loc.latitude, 37, 41, 'latitude in Colorado');
      assertExactKeys(loc, ['latitude', 'longitude', 'heading', 'direction', 'locationType'], 'precise location');
      assert.equal(typeof signal(body, 'closure-islocked').attributes.body.value, 'boolean');
      assert.equal(signal(body, 'closure-doors').attributes.body.values.length, 4);
      // What a BEV cannot give is answered per signal inside the same 200 list.
      for (const code of ['internalcombustionengine-fuellevel', 'internalcombustionengine-amountremaining', 'internalcombustionengine-range']) {
        assertSignalError(signal(body, code), 'COMPATIBILITY', 'VEHICLE_NOT_CAPABLE');
      }
    });

    it('vehicle.getSignal: one signal at the top of the body (node-sdk e2e: body.attributes.status)', async () => {
      const res = await bev.vehicle.getSignal('odometer-traveleddistance');
      assert.equal(res.body.attributes.status.value, 'SUCCESS');
      assert.equal(res.body.id, 'odometer-traveleddistance');
      assert.equal(res.body.attributes.code, 'odometer-traveleddistance');
      assert.equal(res.body.attributes.body.unit, 'km');
      assert.equal(typeof res.body.data.meta.retrievedAt, 'number', 'the signal meta survives under data');
      assert.equal(res.body.included.vehicle.id, bev.id);
      assert.match(res.headers['sc-request-id'], UUID);
    });

    it('vehicle.getSignal with unitSystem imperial answers miles', async () => {
      const imperial = new smartcar.Vehicle(bev.id, bev.token, {unitSystem: 'imperial'});
      const res = await imperial.getSignal('odometer-traveleddistance');
      assert.equal(res.body.attributes.body.unit, 'mi');
      assertBetween(res.body.attributes.body.value, 10000 * 0.621371 - 1, 300000 * 0.621371 + 1, 'odometer in miles');
    });

    it('vehicle.getSignal of what a BEV lacks rejects with COMPATIBILITY / VEHICLE_NOT_CAPABLE', async () => {
      const err = await smartcarError(bev.vehicle.getSignal('internalcombustionengine-fuellevel'));
      assertV2Error(err, {statusCode: 501, type: 'COMPATIBILITY', code: 'VEHICLE_NOT_CAPABLE'});
      assert.equal(typeof err.suggestedUserMessage, 'string', 'suggestedUserMessage');
      assert.match(err.docURL, /\/errors\/api-errors\/v3\/compatibility-errors#vehicle_not_capable$/);
    });

    it('vehicle.getSignal of an unknown code rejects with RESOURCE_NOT_FOUND', async () => {
      const err = await smartcarError(bev.vehicle.getSignal('no-such-signal'));
      assertV2Error(err, {statusCode: 404, type: 'RESOURCE_NOT_FOUND', code: 'PATH'});
    });

    it('smartcar.getVehicle with a bad token rejects with AUTHENTICATION', async () => {
      const err = await smartcarError(smartcar.getVehicle(randomUUID(), bev.id));
      assertV2Error(err, {statusCode: 401, type: 'AUTHENTICATION', code: undefined});
    });
  });

  describe('a fuel vehicle (Ford)', () => {
    let fuel;
    before(async () => {
      fuel = await connect({email: '1FTEW1EP5JF000002@fuel.smartcar.com', make: 'FORD'});
    });

    it('smartcar.getVehicle names an ICE', async () => {
      const res = await smartcar.getVehicle(fuel.token, fuel.id);
      assert.equal(res.body.id, fuel.id);
      assert.equal(res.body.attributes.make, 'FORD');
      assert.equal(res.body.attributes.powertrainType, 'ICE');
    });

    it('vehicle.getSignals: fuel signals succeed, battery and charge signals fail per signal', async () => {
      const {body} = await fuel.vehicle.getSignals();
      for (const code of ['internalcombustionengine-fuellevel', 'internalcombustionengine-amountremaining',
        'internalcombustionengine-range', 'odometer-traveleddistance', 'closure-islocked']) {
        assertSuccess(signal(body, code));
      }
      assertBetween(signal(body, 'internalcombustionengine-fuellevel').attributes.body.value, 0, 100, 'fuel level');
      assert.equal(signal(body, 'internalcombustionengine-amountremaining').attributes.body.unit, 'liters');
      assert.equal(signal(body, 'internalcombustionengine-range').attributes.body.unit, 'km');
      for (const code of ['tractionbattery-stateofcharge', 'tractionbattery-range', 'charge-ischarging', 'charge-chargelimits']) {
        assertSignalError(signal(body, code), 'COMPATIBILITY', 'VEHICLE_NOT_CAPABLE');
      }
    });

    it('vehicle.getSignal reads the fuel level', async () => {
      const res = await fuel.vehicle.getSignal('internalcombustionengine-fuellevel');
      assert.equal(res.body.attributes.status.value, 'SUCCESS');
      assert.equal(res.body.attributes.body.unit, 'percent');
    });
  });

  describe('a permission-limited grant (read_vehicle_info read_odometer)', () => {
    let limited;
    before(async () => {
      limited = await connect({email: `${randomUUID()}@email.com`, make: 'TESLA', scope: ['read_vehicle_info', 'read_odometer']});
    });

    it('vehicle.getSignals lists every signal: odometer succeeds, the rest fail with PERMISSION', async () => {
      const {body} = await limited.vehicle.getSignals();
      assertSuccess(signal(body, 'odometer-traveleddistance'));
      for (const s of body.data.filter((d) => d.id !== 'odometer-traveleddistance')) {
        assertSignalError(s, 'PERMISSION', 'UNKNOWN');
        assert.equal(s.attributes.status.error.resolution.type, 'REAUTHENTICATE');
      }
    });

    it('vehicle.getSignal of an ungranted signal rejects with PERMISSION', async () => {
      const err = await smartcarError(limited.vehicle.getSignal('location-preciselocation'));
      assertV2Error(err, {statusCode: 403, type: 'PERMISSION', code: undefined, resolution: 'REAUTHENTICATE'});
    });

    it('getVehicle needs no permission beyond the connection', async () => {
      const res = await smartcar.getVehicle(limited.token, limited.id);
      assert.equal(res.body.id, limited.id);
    });
  });

  describe('the v3 model: application token + sc-user-id', () => {
    let car;
    let appToken;
    before(async () => {
      car = await connect({email: `${randomUUID()}@email.com`, make: 'TESLA'});
      const basic = Buffer.from(`${process.env.SMARTCAR_CLIENT_ID}:${process.env.SMARTCAR_CLIENT_SECRET}`).toString('base64');
      const res = await fetch(`${ORIGIN}/oauth2/token`, {
        method: 'POST',
        headers: {'authorization': `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded'},
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
      const tok = await res.json();
      assertExactKeys(tok, ['access_token', 'token_type', 'expires_in'], 'application token (no refresh token)');
      assert.equal(tok.token_type, 'Bearer');
      assert.equal(tok.expires_in, 3600);
      appToken = tok.access_token;
    });

    it('vehicle.request(..., {sc-user-id}, "3") reads the signals with the app token', async () => {
      const v = new smartcar.Vehicle(car.id, appToken);
      const res = await v.request('get', 'signals', null, {'sc-user-id': car.userId}, '3');
      assertSuccess(signal(res.body, 'odometer-traveleddistance'));
      assert.match(res.meta['sc-request-id'], UUID);
    });

    it('getSignals with the app token but no sc-user-id rejects with VALIDATION', async () => {
      const err = await smartcarError(new smartcar.Vehicle(car.id, appToken).getSignals());
      assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: 'PARAMETER'});
      assert.deepEqual(err.detail, [{field: ['sc-user-id'], message: err.detail[0].message}]);
    });

    it('another user id is refused with PERMISSION', async () => {
      const v = new smartcar.Vehicle(car.id, appToken);
      const err = await smartcarError(v.request('get', 'signals', null, {'sc-user-id': randomUUID()}, '3'));
      assertV2Error(err, {statusCode: 403, type: 'PERMISSION', code: undefined});
    });
  });
});
