// Conformance test: the official Node SDK against the sandbox's Vehicle Simulator
// (Connect with mode 'simulated'), steered through the sandbox's control API
// (/__sandbox/api/, loopback only) as a test in any language can. Environment as in
// sdk.test.mjs.

import {describe, it, before} from 'node:test';
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import smartcar from 'smartcar';
import {runConnect} from './lib/connect.mjs';
import {smartcarError, assertV2Error} from './lib/expect.mjs';

const ORIGIN = process.env.SMARTCAR_API_ORIGIN;
const REDIRECT_URI = process.env.CONFORMANCE_REDIRECT_URI || 'https://example.com/auth';
const SCOPE = ['read_vehicle_info', 'read_odometer', 'read_battery', 'read_charge', 'control_charge',
  'read_security', 'control_security', 'read_location'];

/** Calls the sandbox's control API and returns the decoded JSON answer. */
async function control(method, path, body) {
  const res = await fetch(`${ORIGIN}/__sandbox/api${path}`, {
    method,
    headers: body ? {'content-type': 'application/json'} : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

describe('Vehicle Simulator (mode simulated) through the Node SDK', () => {
  let vehicle;
  let vehicleId;

  before(async () => {
    const client = new smartcar.AuthClient({redirectUri: REDIRECT_URI, mode: 'simulated'});
    const url = client.getAuthUrl(SCOPE, {state: 'sim'});
    assert.match(url, /[?&]mode=simulated(&|$)/, 'the SDK asks Connect for simulated mode');
    const connect = await runConnect(url, REDIRECT_URI, {email: `${randomUUID()}@bev.smartcar.com`, make: 'TESLA'});
    const access = await client.exchangeCode(connect.params.code);
    const {vehicles} = await smartcar.getVehicles(access.accessToken);
    assert.equal(vehicles.length, 1);
    vehicleId = vehicles[0];
    vehicle = new smartcar.Vehicle(vehicleId, access.accessToken);
    const v = await control('GET', `/vehicles/${vehicleId}`);
    assert.equal(v.mode, 'simulated');
    assert.equal(v.stage, 'parked');
  });

  it('two reads of a parked vehicle give the same odometer', async () => {
    const a = await vehicle.odometer();
    const b = await vehicle.odometer();
    assert.equal(a.distance, b.distance);
    const v = await control('GET', `/vehicles/${vehicleId}`);
    assert.ok(Math.abs(v.odometerKm - a.distance) < 0.11, `control API ${v.odometerKm} vs SDK ${a.distance}`);
  });

  it('batch items are read at one instant: the same report, the same data age', async () => {
    await control('PATCH', `/vehicles/${vehicleId}`, {stage: 'driving'});
    const res = await vehicle.batch(['/odometer', '/location', '/battery']);
    const ages = [res.odometer(), res.location(), res.battery()].map((r) => r.meta.dataAge.getTime());
    assert.ok(ages.every((a) => a === ages[0]), `data ages differ: ${ages}`);
    const later = (await vehicle.odometer()).distance;
    assert.ok(later >= res.odometer().distance, 'the odometer never goes back');
  });

  it('after advancing the clock while driving, the odometer grew', async () => {
    await control('PATCH', `/vehicles/${vehicleId}`, {stage: 'driving', speedKmh: 60});
    const before = (await vehicle.odometer()).distance;
    await control('POST', '/clock', {advance: '30m'});
    const after = (await vehicle.odometer()).distance;
    assert.ok(after - before > 29 && after - before < 31.5, `30 min at 60 km/h: ${before} → ${after}`);
  });

  it('lock() while driving rejects with VEHICLE_STATE / IN_MOTION', async () => {
    const err = await smartcarError(vehicle.lock());
    assertV2Error(err, {statusCode: 409, type: 'VEHICLE_STATE', code: 'IN_MOTION', resolution: 'RETRY_LATER'});
  });

  it('startCharge() while unplugged rejects with CHARGING_PLUG_NOT_CONNECTED; plugged in it charges', async () => {
    await control('PATCH', `/vehicles/${vehicleId}`, {stage: 'parked', batteryPercent: 30, chargeLimit: 0.9});
    const err = await smartcarError(vehicle.startCharge());
    assertV2Error(err, {statusCode: 409, type: 'VEHICLE_STATE', code: 'CHARGING_PLUG_NOT_CONNECTED'});
    await control('PATCH', `/vehicles/${vehicleId}`, {pluggedIn: true});
    await vehicle.startCharge();
    const before = (await vehicle.battery()).percentRemaining;
    await control('POST', '/clock', {advance: '1h'});
    const charge = await vehicle.charge();
    assert.equal(charge.isPluggedIn, true);
    assert.equal(charge.state, 'CHARGING');
    assert.ok((await vehicle.battery()).percentRemaining > before, 'the battery rose while charging');
  });
});
