// Assertions shared by the conformance tests: exact key sets (smartcar-api.md §7.1),
// the SDK's meta object (§5) and SmartcarError fields (§6.3).

import assert from 'node:assert/strict';
import smartcar from 'smartcar';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The response without the SDK's `meta`, i.e. the JSON body as the API sent it. */
export function body(res) {
  const {meta, ...rest} = res;
  return rest;
}

/** Asserts the body (meta stripped) has exactly these keys. */
export function assertKeys(res, keys, what = 'body') {
  assert.deepEqual(Object.keys(body(res)).sort(), [...keys].sort(), `${what} key set`);
}

/** Asserts an object has exactly these keys. */
export function assertExactKeys(obj, keys, what) {
  assert.equal(typeof obj, 'object', `${what} is an object`);
  assert.notEqual(obj, null, `${what} is not null`);
  assert.deepEqual(Object.keys(obj).sort(), [...keys].sort(), `${what} key set`);
}

/** Asserts a number within [lo, hi]. */
export function assertBetween(x, lo, hi, what) {
  assert.equal(typeof x, 'number', `${what} is a number (got ${JSON.stringify(x)})`);
  assert.ok(Number.isFinite(x), `${what} is finite`);
  assert.ok(x >= lo && x <= hi, `${what} = ${x} not within [${lo}, ${hi}]`);
}

/** Asserts a 0–1 fraction. */
export function assertFraction(x, what) {
  assertBetween(x, 0, 1, what);
}

function assertDate(d, what) {
  assert.ok(d instanceof Date, `${what} is a Date (got ${d})`);
  assert.ok(!Number.isNaN(d.getTime()), `${what} is a valid Date`);
}

/**
 * Asserts the SDK meta of a response. Every response carries a 36-char request id; data
 * endpoints (`data: true`) also carry a valid dataAge and fetchedAt and the unit system
 * used (§5, §11).
 */
export function assertMeta(res, {data = false, unitSystem = 'metric'} = {}) {
  const {meta} = res;
  assert.ok(meta, 'meta present');
  assert.equal(typeof meta.requestId, 'string', 'meta.requestId is a string');
  assert.equal(meta.requestId.length, 36, 'meta.requestId has 36 characters');
  assert.match(meta.requestId, UUID, 'meta.requestId is a UUID');
  if (data) {
    assertDate(meta.dataAge, 'meta.dataAge');
    assertDate(meta.fetchedAt, 'meta.fetchedAt');
    assert.equal(meta.unitSystem, unitSystem, 'meta.unitSystem');
  }
  if (meta.dataAge !== undefined) assertDate(meta.dataAge, 'meta.dataAge');
  if (meta.fetchedAt !== undefined) {
    assertDate(meta.fetchedAt, 'meta.fetchedAt');
    if (meta.dataAge) {
      assert.ok(meta.fetchedAt >= meta.dataAge,
        `data is recorded before it is fetched (dataAge ${meta.dataAge.toISOString()}, fetchedAt ${meta.fetchedAt.toISOString()})`);
    }
  }
}

/** Awaits `promise` and returns the SmartcarError it must reject with. */
export async function smartcarError(promise) {
  let err;
  try {
    const value = await promise;
    assert.fail(`expected a SmartcarError, got a result: ${JSON.stringify(value)}`);
  } catch (e) {
    err = e;
  }
  if (err instanceof assert.AssertionError) throw err;
  assert.ok(err instanceof smartcar.SmartcarError,
    `expected a SmartcarError, got ${err && err.name}: ${err && err.message}`);
  return err;
}

const RESOLUTIONS = [null, 'RETRY_LATER', 'REAUTHENTICATE', 'CONTACT_SUPPORT'];

/**
 * Asserts a SmartcarError built from a v2 error body (§6.1): type, code (undefined when
 * the body says null; an array allows several), statusCode, 36-char requestId,
 * resolution object, docURL, description and the message "<type>:<code> - <description>".
 * `want` may fix description, resolution (the resolution.type) and docURL exactly.
 */
export function assertV2Error(err, want) {
  const ctx = `${err.message} ${JSON.stringify(err)}`;
  assert.equal(err.name, 'SmartcarError');
  assert.equal(err.statusCode, want.statusCode, `statusCode (${ctx})`);
  assert.equal(err.type, want.type, `type (${ctx})`);
  const codes = Array.isArray(want.code) ? want.code : [want.code];
  assert.ok(codes.includes(err.code), `code ${JSON.stringify(err.code)} not in ${JSON.stringify(codes)} (${ctx})`);
  assert.equal(typeof err.requestId, 'string', `requestId (${ctx})`);
  assert.equal(err.requestId.length, 36, 'requestId has 36 characters');
  assert.equal(typeof err.description, 'string', `description (${ctx})`);
  assert.ok(err.description.length > 0, 'description not empty');
  if (want.description !== undefined) assert.equal(err.description, want.description, 'description');
  assert.equal(typeof err.docURL, 'string', `docURL (${ctx})`);
  assert.match(err.docURL, /^https:\/\/smartcar\.com\/docs\//, 'docURL');
  if (want.docURL !== undefined) assert.equal(err.docURL, want.docURL, 'docURL');
  assert.ok(err.resolution && typeof err.resolution === 'object', `resolution is an object (${ctx})`);
  assert.ok('type' in err.resolution, 'resolution.type present');
  assert.ok(RESOLUTIONS.includes(err.resolution.type), `resolution.type ${err.resolution.type}`);
  if (want.resolution !== undefined) {
    const allowed = Array.isArray(want.resolution) ? want.resolution : [want.resolution];
    assert.ok(allowed.includes(err.resolution.type),
      `resolution.type ${JSON.stringify(err.resolution.type)} not in ${JSON.stringify(allowed)}`);
  }
  // The SDK copies code only when truthy, so a null code reads "null" in the message.
  assert.equal(err.message, `${want.type}:${err.code ?? 'null'} - ${err.description}`, 'message shape');
  if (want.retryAfter) {
    assert.match(String(err.retryAfter), /^\d+$/, `retryAfter is whole seconds (${err.retryAfter})`);
  }
}

/**
 * Asserts a SmartcarError built from an OAuth error body (§3.4, §6.3): type = the OAuth
 * `error`, description = error_description, message "<error>:undefined - <description>".
 */
export function assertOAuthError(err, {statusCode, type, description}) {
  const ctx = `${err.message} ${JSON.stringify(err)}`;
  assert.equal(err.name, 'SmartcarError');
  assert.equal(err.statusCode, statusCode, `statusCode (${ctx})`);
  const types = Array.isArray(type) ? type : [type];
  assert.ok(types.includes(err.type), `type ${err.type} not in ${types} (${ctx})`);
  assert.equal(typeof err.description, 'string', `description (${ctx})`);
  assert.notEqual(err.description, 'Unknown error', `error_description present (${ctx})`);
  if (description instanceof RegExp) assert.match(err.description, description);
  else if (description !== undefined) assert.equal(err.description, description);
  assert.equal(err.message, `${err.type}:undefined - ${err.description}`, 'message shape');
  assert.equal(typeof err.requestId, 'string', `requestId from sc-request-id (${ctx})`);
  assert.equal(err.requestId.length, 36, 'requestId has 36 characters');
}
