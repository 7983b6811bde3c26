package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"smartcargo/internal/smartcar/webhook"
	"smartcargo/internal/store"
)

// WebhookPath is where Smartcar posts the app's webhooks.
const WebhookPath = "/webhooks"

// maxWebhookBody bounds a webhook's body. A 4.0 VEHICLE_STATE with every signal of
// the dashboard is about 5 KB and one with every signal Smartcar has a few tens of
// KB; 256 KB leaves room without letting a sender hold much memory per request. The
// forms' limit (maxFormBody) does not apply to this route, which limits its own.
const maxWebhookBody = 256 << 10

// Subscriber subscribes vehicles to the app's webhook (cmd/app's, through the
// management API), so that Smartcar pushes their changes to /webhooks.
type Subscriber interface {
	// Subscribe subscribes the vehicles; subscribing one twice changes nothing.
	Subscribe(ctx context.Context, vehicleIDs []string) error
}

// handleWebhooks receives Smartcar's webhooks: webhook.Handler checks SC-Signature
// on the raw body against the management tokens before anything parses it, answers
// VERIFY, and hands every other event to RecordEvent, whose unique eventId stores it
// once however often it is delivered (so no Deduper). The answer is 200 once the
// event is committed, 500 when the store failed (Smartcar delivers it again), and
// 200 for an event that can never be stored (delivering it again would not help).
// Nothing here calls Smartcar. Without tokens webhooks are off: 404 in JSON.
func handleWebhooks(log *slog.Logger, st store.Store, tokens []string, now func() time.Time, names *vehicleNames) (http.Handler, error) {
	if len(tokens) == 0 {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "webhooks_disabled",
				"message": "Webhooks are off: set SMARTCAR_MANAGEMENT_TOKEN (Smartcar Dashboard, Configuration) to receive them."})
		}), nil
	}
	return webhook.NewHandler(webhook.Options{
		ManagementTokens: tokens,
		MaxBody:          maxWebhookBody,
		Logger:           log,
		OnEvent: func(ctx context.Context, ev *webhook.Event) error {
			rec := store.WebhookEvent(ev)
			// The app's clock stamps the arrival, as it judges freshness (MaxDataAge).
			rec.ReceivedAt = now()
			_, err := st.RecordEvent(ctx, rec)
			if errors.Is(err, store.ErrInvalidEvent) {
				log.InfoContext(ctx, "webhook: event dropped", "event_id", ev.ID, "err", err)
				return nil
			}
			if err != nil {
				return err
			}
			if v := ev.Data.Vehicle; v.Make != "" {
				names.learn(v.ID, heading{make: v.Make, model: v.Model, year: v.Year})
			}
			return nil
		},
	})
}

// subscribe subscribes a new connection's vehicles to the app's webhook. Without a
// Subscriber it does nothing; a failure is logged, never the user's problem: the
// pages still read the API.
func subscribe(ctx context.Context, log *slog.Logger, sub Subscriber, vehicleIDs []string) {
	if sub == nil || len(vehicleIDs) == 0 {
		return
	}
	if err := sub.Subscribe(ctx, vehicleIDs); err != nil {
		log.WarnContext(ctx, "subscribing new vehicles to the webhook", "vehicles", len(vehicleIDs), "err", err)
	}
}
