package main

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
	"smartcargo/internal/web"
)

// webhookName names the app's webhook at Smartcar (or the sandbox), so that a restart
// finds the one it registered instead of adding another.
const webhookName = "smartcargo"

// registerBudget bounds the webhook's registration at start: the app serves without
// it (the pages read the API) if Smartcar or the sandbox does not answer in time.
const registerBudget = 30 * time.Second

// webhooks keeps the app's webhook registered and its vehicles subscribed, through the
// management API: with the built-in sandbox it registers the webhook itself; with
// real Smartcar it only subscribes vehicles to SMARTCAR_WEBHOOK_ID, registered in the
// dashboard. It is the web.Subscriber of the app.
type webhooks struct {
	mgmt *smartcar.Management
	st   store.Store
	log  *slog.Logger

	mu sync.Mutex
	id string // the webhook; "" until registered
}

func (w *webhooks) webhookID() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.id
}

var errNotRegistered = errors.New("app: the webhook is not registered yet (the vehicles are subscribed once it is)")

// Subscribe implements web.Subscriber.
func (w *webhooks) Subscribe(ctx context.Context, vehicleIDs []string) error {
	id := w.webhookID()
	if id == "" {
		return errNotRegistered
	}
	return w.mgmt.Subscribe(ctx, id, vehicleIDs...)
}

// register finds the app's webhook for callback by name, or creates it, and then
// subscribes every stored connection's vehicles not subscribed yet. A webhook of that
// name with another callback or other signals (the app moved, or shows other tiles)
// is replaced; one whose VERIFY failed (the app was down) is verified again.
func (w *webhooks) register(ctx context.Context, callback string) error {
	signals := web.DashboardSignals()
	list, err := w.mgmt.Webhooks(ctx)
	if err != nil {
		return err
	}
	var found *smartcar.Webhook
	for _, h := range list {
		if h.Name != webhookName {
			continue
		}
		if found == nil && h.CallbackURI == callback && sameCodes(h.Signals, signals) {
			found = &h
			continue
		}
		if err := w.mgmt.DeleteWebhook(ctx, h.ID); err != nil {
			return err
		}
		w.log.Info("webhook replaced", "webhook_id", h.ID, "callback", h.CallbackURI)
	}
	switch {
	case found == nil:
		if found, err = w.mgmt.CreateWebhook(ctx, smartcar.NewWebhook{Name: webhookName, CallbackURI: callback, Signals: signals}); err != nil {
			return err
		}
	case found.Status == smartcar.WebhookVerificationFailed:
		if found, err = w.mgmt.VerifyWebhook(ctx, found.ID); err != nil {
			return err
		}
	}
	w.mu.Lock()
	w.id = found.ID
	w.mu.Unlock()
	w.log.Info("webhook registered", "webhook_id", found.ID, "callback", callback, "status", found.Status)
	return w.subscribeStored(ctx)
}

// subscribeStored subscribes the vehicles of every stored connection that the
// webhook does not have yet, one by one: a vehicle the sandbox no longer knows must
// not keep the others out.
func (w *webhooks) subscribeStored(ctx context.Context) error {
	id := w.webhookID()
	ids, err := w.st.ConnectedVehicles(ctx)
	if err != nil {
		return err
	}
	subscribed, err := w.mgmt.Subscriptions(ctx, id)
	if err != nil {
		return err
	}
	n := 0
	for _, v := range ids {
		if slices.Contains(subscribed, v) {
			continue
		}
		if err := w.mgmt.Subscribe(ctx, id, v); err != nil {
			w.log.Warn("subscribing a stored vehicle to the webhook", "vehicle_id", v, "err", err)
			continue
		}
		n++
	}
	if n > 0 {
		w.log.Info("stored vehicles subscribed to the webhook", "vehicles", n)
	}
	return nil
}

func sameCodes(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
