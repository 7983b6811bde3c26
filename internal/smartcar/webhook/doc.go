// Package webhook receives Smartcar webhooks: it checks their signature, answers
// the callback URI's verification challenge, decodes events (payload version 4.0
// and the legacy 2.0 shapes) and hands each one to the application once.
//
// Smartcar posts every event to the webhook's callback URI with an SC-Signature
// header: the hex HMAC-SHA256 of the raw body, keyed with the application
// management token (Smartcar Dashboard, Configuration). When a webhook is created
// or its URI changes, the first post is a VERIFY event whose challenge the
// receiver must hash with the same token (HashChallenge) and send back as
// {"challenge": "<hash>"} within 15 seconds. A delivery that is not answered 2xx
// is retried with the same eventId, and a delivery may also simply arrive twice:
// receivers deduplicate on eventId.
//
// The Handler does all of this:
//
//	h, err := webhook.NewHandler(webhook.Options{
//		ManagementTokens: []string{cfg.ManagementToken},
//		Dedupe:           webhook.NewMemoryDeduper(0),
//		Logger:           logger,
//		OnEvent: func(ctx context.Context, ev *webhook.Event) error {
//			switch ev.Type {
//			case webhook.TypeVehicleState:
//				for _, s := range ev.Data.Signals {
//					// s.Code, s.Status, s.Body (raw JSON; s.Decode(&v))
//				}
//			case webhook.TypeVehicleError:
//				// ev.Data.Errors
//			}
//			return store.SaveEvent(ctx, ev) // an error: 500, Smartcar retries
//		},
//	})
//	mux.Handle("POST /webhooks/smartcar", h)
//
// Without the Handler, verify the bytes exactly as read from the request, before
// any JSON parsing, then decode them:
//
//	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, webhook.DefaultMaxBody))
//	if err := webhook.Verify(token, r.Header.Get(webhook.SignatureHeader), body); err != nil {
//		// 401
//	}
//	ev, err := webhook.Decode(body)
//
// Never verify a parsed and re-encoded body: the official Node SDK's
// verifyPayload hashes JSON.stringify(parsedBody), which differs from what
// Smartcar signed as soon as the sender's spacing, key order or escapes differ,
// and such deliveries are refused. Verify also compares in constant time.
//
// # Rotating the management token
//
// Options.ManagementTokens takes a list: the current token first, then the ones
// being retired. A delivery signed with any of them is accepted (the Logger
// notes those signed with a retiring one), and a VERIFY is answered with the
// token that signed it, the one Smartcar holds. Drop the old token once no
// delivery uses it.
//
// # Deduplication
//
// With a Deduper the Handler claims an eventId before calling OnEvent and
// records it as handled only once OnEvent returned nil. A second delivery of a
// handled event is answered 200 without a call; one arriving while the first is
// still being handled is answered 409, so that it is retried rather than lost if
// the first fails. MemoryDeduper serves a single process; several instances need
// a shared Deduper. Events without an eventId (legacy scheduled and dynamic
// payloads) are always handed on.
//
// # Decoding
//
// Decode is lenient: a field that is missing or malformed loses only itself, an
// unknown event type is kept as sent, and Event.Raw keeps the whole body. Signal
// bodies stay raw JSON (Signal.Body) for the typed signal decoders of the v3
// client. Times are epoch milliseconds, as Smartcar documents, or RFC 3339
// strings; epoch numbers below 1e11 are read as seconds, since one of Smartcar's
// examples sends deliveredAt in seconds.
//
// Where Smartcar's documentation is silent or contradicts itself, the package
// decides, and accepts every documented variant:
//
//   - VEHICLE_ERROR: the event page lists error types and codes and says a
//     resolved error is sent again with state RESOLVED, but shows no payload.
//     Decode reads data.errors[] (or a single data.error), each {type, code,
//     description or detail, suggestedUserMessage, docURL, resolution: {type},
//     state, signals: [{code, name, group}] or [code]}, with data.state as the
//     default state. Unconfirmed.
//   - Triggers appear as {type, signal: {code, name, group}}, as {code, name,
//     group}, and as {code: "FIRST_DELIVERY"}; all three decode to Trigger.
//   - A signal's status may be missing: Status.Value is then StatusError when
//     the signal carries an error (in status.error, or beside the body) and
//     StatusSuccess when it has a body.
//   - Whether Smartcar signs the VERIFY request is not stated; the security page
//     says every webhook carries SC-Signature. The Handler answers only a signed
//     VERIFY: answering an unsigned one would hand anyone an HMAC, with the
//     management token, of a string of their choosing, which is a valid
//     signature for that string as a body.
//
// # With the sandbox
//
// The app's sandbox (internal/sandbox) emulates Smartcar offline, webhooks
// included: it sends VERIFY, then signed 4.0 deliveries as its simulated vehicles
// change, with a management token it shares with the app (SANDBOX_MANAGEMENT_TOKEN,
// or generated), and the same Handler receives them (docs/sandbox.md). Sign
// produces the header a sender sends, so that a receiver can also be exercised
// with curl or from a test:
//
//	sig := webhook.Sign(token, body) // curl -H "SC-Signature: $sig" --data-binary @event.json ...
//
// The package imports only the standard library, never reads the environment,
// and logs only through Options.Logger, never the body, the signature or a token.
package webhook
