// Conformance test: the official Node SDK's Compatibility API calls
// (smartcar.getCompatibility, smartcar.getCompatibilityMatrix) against the sandbox. Both
// go to SMARTCAR_API_ORIGIN/v2.0 with Basic client credentials from SMARTCAR_CLIENT_ID
// and SMARTCAR_CLIENT_SECRET (index.js buildCredentials). The first two tests are the
// SDK's own end-to-end tests (node-sdk test/end-to-end/index.js) as it runs them against
// Smartcar: the same VINs, scopes and assertions. Every test name starts with "compat"
// so that CONFORMANCE_TEST_NAME_PATTERN=compat runs just these.

import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import smartcar from 'smartcar';
import {assertExactKeys, assertKeys, smartcarError, assertV2Error} from './lib/expect.mjs';

const TESLA_VIN = '5YJXCDE22HF068739'; // a 2017 Model X
const AUDI_VIN = 'WAUAFAFL1GN014882'; // a 2016 Audi: older than every Audi model of the table

const CAPABILITY_KEYS = ['permission', 'endpoint', 'capable', 'reason'];
const ENTRY_KEYS = ['model', 'type', 'startYear', 'endYear', 'endpoints', 'permissions'];

function assertCompatibility(res) {
  assertKeys(res, ['compatible', 'reason', 'capabilities']);
  assert.equal(res.meta.requestId.length, 36, 'meta.requestId');
  for (const c of res.capabilities) assertExactKeys(c, CAPABILITY_KEYS, 'capability');
}

describe('compat: Compatibility API through the Node SDK', () => {
  it('compat: getCompatibility for a Tesla and an Audi VIN (the SDK e2e test)', async () => {
    const scope = ['read_odometer', 'read_location'];
    const teslaComp = await smartcar.getCompatibility(TESLA_VIN, scope, null);
    const audiComp = await smartcar.getCompatibility(AUDI_VIN, scope, null);
    for (const res of [teslaComp, audiComp]) {
      assertCompatibility(res);
      assert.equal(res.compatible, true);
      assert.equal(res.reason, null);
      // One capability per permission here: each has one endpoint.
      assert.deepEqual(res.capabilities.map((c) => [c.permission, c.endpoint]),
        [['read_odometer', '/odometer'], ['read_location', '/location']]);
    }
    assert.ok(teslaComp.capabilities.every((c) => c.capable === true && c.reason === null), JSON.stringify(teslaComp));
    assert.ok(audiComp.capabilities.every((c) => c.capable === false && c.reason === 'SMARTCAR_NOT_CAPABLE'),
      JSON.stringify(audiComp));
  });

  it('compat: getCompatibility lists every endpoint of each permission, capable or not', async () => {
    const res = await smartcar.getCompatibility(TESLA_VIN, ['read_battery', 'read_fuel', 'control_security'], 'US');
    assertCompatibility(res);
    assert.deepEqual(res.capabilities.map((c) => [c.permission, c.endpoint, c.capable, c.reason]), [
      ['read_battery', '/battery', true, null],
      ['read_battery', '/battery/capacity', true, null],
      ['read_battery', '/battery/nominal_capacity', true, null],
      ['read_fuel', '/fuel', false, 'VEHICLE_NOT_CAPABLE'],
      ['control_security', '/security', true, null],
    ]);

    // Test mode: the level decides, whatever the VIN (the SDK adds mode=test).
    const fuel = await smartcar.getCompatibility(TESLA_VIN, ['read_battery', 'read_fuel'],
      {testModeCompatibilityLevel: 'fuel'});
    assert.deepEqual(fuel.capabilities.map((c) => [c.endpoint, c.capable]),
      [['/battery', false], ['/battery/capacity', false], ['/battery/nominal_capacity', false], ['/fuel', true]]);
    const none = await smartcar.getCompatibility(TESLA_VIN, ['read_odometer'], 'US',
      {mode: 'test', testModeCompatibilityLevel: 'incompatible'});
    assert.deepEqual([none.compatible, none.reason, none.capabilities], [false, 'VEHICLE_NOT_COMPATIBLE', []]);

    // Outside the US Smartcar checks the make only.
    const ca = await smartcar.getCompatibility(TESLA_VIN, ['read_odometer'], 'CA');
    assert.deepEqual([ca.compatible, ca.reason, ca.capabilities], [true, null, []]);
  });

  it('compat: getCompatibilityMatrix for a make and type (the SDK e2e test)', async () => {
    const response = await smartcar.getCompatibilityMatrix('US', {
      scope: ['read_battery', 'read_charge'],
      make: 'NISSAN',
      type: 'BEV',
    });
    assert.deepEqual(Object.keys(response).sort(), ['NISSAN', 'meta']);
    assert.ok(response.NISSAN.length > 0);
    for (const vehicle of response.NISSAN) {
      assertExactKeys(vehicle, ENTRY_KEYS, 'matrix entry');
      assert.equal(vehicle.type, 'BEV');
      assert.ok(vehicle.permissions.includes('read_battery'));
      assert.ok(vehicle.permissions.includes('read_charge'));
      assert.equal(vehicle.endpoints.length, vehicle.permissions.length);
    }

    // Several makes (space-separated), any case; ICE models have no EV battery.
    const ice = await smartcar.getCompatibilityMatrix('US', {make: ['tesla', 'FORD'], type: 'ICE'});
    assert.deepEqual(Object.keys(ice).sort(), ['FORD', 'meta'], 'Tesla has no ICE model');
    for (const vehicle of ice.FORD) {
      assert.equal(vehicle.type, 'ICE');
      assert.ok(vehicle.permissions.includes('read_fuel') && !vehicle.permissions.includes('read_battery'));
      assert.ok(vehicle.startYear <= vehicle.endYear);
    }
  });

  it('compat: errors: wrong client credentials (401 AUTHENTICATION), then bad parameters (400 VALIDATION)', async () => {
    const wrong = {clientId: process.env.SMARTCAR_CLIENT_ID, clientSecret: 'not-the-secret'};
    const auth = {
      statusCode: 401, type: 'AUTHENTICATION',
      docURL: 'https://smartcar.com/docs/errors/api-errors/authentication-errors#null',
    };
    // Credentials are checked before the parameters: a malformed VIN still gets 401.
    assertV2Error(await smartcarError(smartcar.getCompatibility('not-a-vin', ['read_odometer'], 'US', wrong)), auth);
    assertV2Error(await smartcarError(smartcar.getCompatibilityMatrix('US', wrong)), auth);

    // Test mode without a level: Smartcar's VALIDATION (the Python SDK's e2e suite).
    const err = await smartcarError(smartcar.getCompatibility(AUDI_VIN, ['read_vehicle_info'], {mode: 'test'}));
    assertV2Error(err, {statusCode: 400, type: 'VALIDATION', code: 'PARAMETER'});
    assert.equal(err.detail[0].field[0], 'test_mode_compatibility_level');
    assert.equal(err.detail[0].message, 'Field must be one of: [compatible,phev,incompatible,fuel,dinosaur,bev]');

    for (const [call, field] of [
      [() => smartcar.getCompatibility('5YJXCDE22HF06873', ['read_odometer']), 'vin'],
      [() => smartcar.getCompatibility(TESLA_VIN, ['read_odometr']), 'scope'],
      [() => smartcar.getCompatibility(TESLA_VIN, ['read_odometer'], 'XX'), 'country'],
      [() => smartcar.getCompatibilityMatrix(undefined), 'region'],
      [() => smartcar.getCompatibilityMatrix('US', {type: 'EV'}), 'type'],
    ]) {
      const e = await smartcarError(call());
      assertV2Error(e, {statusCode: 400, type: 'VALIDATION', code: 'PARAMETER'});
      assert.deepEqual(e.detail[0].field, [field]);
    }
  });
});
