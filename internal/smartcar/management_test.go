package smartcar_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/smartcar/webhook"
)

// TestManagementWebhooks registers a webhook at the sandbox with a receiver that
// answers its VERIFY, lists it, subscribes and unsubscribes a connected vehicle, and
// deletes it; the receiver gets the vehicle's first delivery.
func TestManagementWebhooks(t *testing.T) {
	e := newV3Env(t, nil)
	u := e.connect("driver@example.com", "TESLA", nil)
	var (
		mu     sync.Mutex
		events []*webhook.Event
	)
	h, err := webhook.NewHandler(webhook.Options{ManagementTokens: []string{testManagementToken},
		OnEvent: func(_ context.Context, ev *webhook.Event) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	receiver := httptest.NewServer(h)
	defer receiver.Close()

	m := smartcar.NewManagement(e.srv.Client(), e.srv.URL, testManagementToken)
	ctx := t.Context()
	codes := []string{smartcar.SignalOdometer, smartcar.SignalStateOfCharge}
	wh, err := m.CreateWebhook(ctx, smartcar.NewWebhook{Name: "test", CallbackURI: receiver.URL + "/hook", Signals: codes})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if wh.ID == "" || wh.CallbackURI != receiver.URL+"/hook" || !slices.Equal(wh.Signals, codes) {
		t.Fatalf("created %+v", wh)
	}
	e.sb.Deliveries(wh.ID, 1) // the VERIFY was answered
	got, err := m.Webhook(ctx, wh.ID)
	if err != nil || !got.Active() {
		t.Fatalf("Webhook after VERIFY: %+v %v, want it active", got, err)
	}
	list, err := m.Webhooks(ctx)
	if err != nil || len(list) != 1 || list[0].ID != wh.ID || list[0].Name != "test" {
		t.Fatalf("Webhooks: %+v %v", list, err)
	}

	id := u.vehicles[0]
	for range 2 { // subscribing again changes nothing
		if err := m.Subscribe(ctx, wh.ID, id); err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
	}
	subs, err := m.Subscriptions(ctx, wh.ID)
	if err != nil || !slices.Equal(subs, []string{id}) {
		t.Fatalf("Subscriptions: %v %v, want [%s]", subs, err, id)
	}
	e.sb.Deliveries(wh.ID, 2) // the first delivery
	mu.Lock()
	if len(events) != 1 || events[0].Data.Vehicle.ID != id || events[0].Type != webhook.TypeVehicleState {
		t.Errorf("the receiver got %d events, want the vehicle's first delivery", len(events))
	}
	mu.Unlock()
	if err := m.Unsubscribe(ctx, wh.ID, id); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if subs, err := m.Subscriptions(ctx, wh.ID); err != nil || len(subs) != 0 {
		t.Errorf("Subscriptions after Unsubscribe: %v %v", subs, err)
	}
	if err := m.DeleteWebhook(ctx, wh.ID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if list, err := m.Webhooks(ctx); err != nil || len(list) != 0 {
		t.Errorf("Webhooks after delete: %+v %v", list, err)
	}
}

// TestManagementErrors: refusals are *smartcar.Error with Smartcar's type.
func TestManagementErrors(t *testing.T) {
	e := newV3Env(t, nil)
	ctx := t.Context()
	var se *smartcar.Error
	_, err := smartcar.NewManagement(e.srv.Client(), e.srv.URL, "wrong").Webhooks(ctx)
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized || se.Type != smartcar.TypeAuthentication {
		t.Errorf("a wrong management token: %v, want 401 AUTHENTICATION", err)
	}
	m := smartcar.NewManagement(e.srv.Client(), e.srv.URL, testManagementToken)
	_, err = m.Webhook(ctx, "00000000-0000-4000-8000-000000000000")
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown webhook: %v, want 404", err)
	}
	_, err = m.CreateWebhook(ctx, smartcar.NewWebhook{Name: "x", CallbackURI: "http://192.0.2.1/hook"})
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Errorf("a callback off this machine: %v, want 400", err)
	}
	if err := m.Subscribe(ctx, "some-id"); err == nil {
		t.Error("Subscribe without vehicles: no error")
	}
}
