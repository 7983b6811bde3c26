package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"smartcargo/internal/smartcar/webhook"
)

func ExampleHashChallenge() {
	// The answer to a VERIFY event whose data.challenge is "challenge-example";
	// the official Node SDK's hashChallenge gives the same.
	fmt.Println(webhook.HashChallenge("amt-example", "challenge-example"))
	// Output:
	// 5db60ddd5844eceeecb86553e258bb95baef3ddd709cbc17a1da11d9ad3a81db
}

func ExampleVerify() {
	const token = "amt-example"
	body := []byte(`{"eventId": "e-1", "eventType": "VEHICLE_STATE"}`)
	sig := webhook.Sign(token, body) // what Smartcar sends in SC-Signature

	fmt.Println(webhook.Verify(token, sig, body))
	fmt.Println(webhook.Verify(token, strings.ToUpper(sig), body))
	fmt.Println(webhook.Verify("amt-other", sig, body))
	fmt.Println(webhook.Verify(token, "", body))

	// The same JSON re-encoded is a different text with a different signature:
	// verify the bytes as received.
	var compact bytes.Buffer
	json.Compact(&compact, body)
	fmt.Println(webhook.Verify(token, sig, compact.Bytes()))
	// Output:
	// <nil>
	// <nil>
	// webhook: SC-Signature does not match the body
	// webhook: missing SC-Signature header
	// webhook: SC-Signature does not match the body
}

func ExampleDecode() {
	body := []byte(`{"eventId":"e-1","eventType":"VEHICLE_STATE",
		"data":{"vehicle":{"id":"v-1","make":"TESLA","model":"Model 3","year":2021},
			"signals":[{"code":"tractionbattery-stateofcharge","name":"StateOfCharge","group":"TractionBattery",
				"body":{"value":64,"unit":"percent"},"meta":{"retrievedAt":1767225600000}}]},
		"triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":"tractionbattery-stateofcharge"}}],
		"meta":{"version":"4.0","deliveredAt":"2026-01-01T00:00:01Z","mode":"TEST"}}`)
	ev, err := webhook.Decode(body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Type, ev.Data.Vehicle.Year, ev.Data.Vehicle.Make, ev.Triggers[0].Type, ev.Triggers[0].Signal.Code)
	for _, s := range ev.Data.Signals {
		var soc struct {
			Value float64 `json:"value"`
			Unit  string  `json:"unit"`
		}
		if err := s.Decode(&soc); err != nil {
			log.Fatal(err)
		}
		fmt.Println(s.Code, s.Status.Value, soc.Value, soc.Unit, s.Meta.RetrievedAt.Format("2006-01-02 15:04:05"))
	}
	// Output:
	// VEHICLE_STATE 2021 TESLA SIGNAL_UPDATED tractionbattery-stateofcharge
	// tractionbattery-stateofcharge SUCCESS 64 percent 2026-01-01 00:00:00
}

// The handler mounted on a mux, receiving what Smartcar sends: the VERIFY when
// the webhook is created, then an event, delivered twice.
func ExampleNewHandler() {
	const token = "amt-example"
	h, err := webhook.NewHandler(webhook.Options{
		ManagementTokens: []string{token},
		Dedupe:           webhook.NewMemoryDeduper(0),
		OnEvent: func(ctx context.Context, ev *webhook.Event) error {
			fmt.Println("OnEvent:", ev.Type, ev.ID, ev.Data.Vehicle.ID)
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/smartcar", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	deliver := func(body []byte, signed bool) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/smartcar", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signed {
			req.Header.Set(webhook.SignatureHeader, webhook.Sign(token, body))
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(answer)))
	}

	deliver([]byte(`{"eventId":"v-0","eventType":"VERIFY","data":{"challenge":"challenge-example"},"meta":{"version":"4.0"}}`), true)
	event := []byte(`{"eventId":"e-1","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":"v-1"}},"meta":{"version":"4.0"}}`)
	deliver(event, true)
	deliver(event, true)
	deliver(event, false)
	// Output:
	// 200 {"challenge":"5db60ddd5844eceeecb86553e258bb95baef3ddd709cbc17a1da11d9ad3a81db"}
	// OnEvent: VEHICLE_STATE e-1 v-1
	// 200 {"status":"received"}
	// 200 {"status":"duplicate"}
	// 401 {"error":"invalid_signature","message":"The SC-Signature header is missing."}
}
