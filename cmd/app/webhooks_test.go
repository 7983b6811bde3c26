package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"smartcargo/internal/htmlpage"
	"smartcargo/internal/sandboxctl"
)

// appHook waits for the app's webhook registration and returns the sandbox's webhook
// named smartcargo, failing unless there is exactly one.
func appHook(t *testing.T, a *app, sb *sandboxctl.Client) sandboxctl.Webhook {
	t.Helper()
	<-a.hooksDone
	var found []sandboxctl.Webhook
	for _, h := range sb.Webhooks() {
		if h.Name == webhookName {
			found = append(found, h)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d webhooks named %s (%+v), want 1", len(found), webhookName, found)
	}
	return found[0]
}

// TestBuiltInSandboxWebhooks: with the built-in sandbox the app registers its webhook
// at start, subscribes each vehicle it connects, and a change made through the
// control API reaches its store: the dashboard shows it, by webhook, with no API
// call. Started again on the same data, it keeps one webhook (moved to the new port)
// with the stored vehicles subscribed.
func TestBuiltInSandboxWebhooks(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "SMARTCAR_MODE": "simulated", "SMARTCAR_MAX_DATA_AGE": "5m"}
	a, stop := runApp(t, env, nil)
	if a.WebhookURL != a.URL+"/webhooks" {
		t.Errorf("WebhookURL %q, want %s/webhooks", a.WebhookURL, a.URL)
	}
	sb := sandboxctl.New(t, a.SandboxURL)
	hook := appHook(t, a, sb)
	if hook.CallbackURI != a.URL+"/webhooks" {
		t.Errorf("callback %q, want %s/webhooks", hook.CallbackURI, a.URL)
	}
	sb.Deliveries(hook.ID, 1) // VERIFY answered
	if hook = appHook(t, a, sb); hook.Status != "ACTIVE" {
		t.Fatalf("webhook status %s, want ACTIVE", hook.Status)
	}

	u := newUser(nil)
	p, err := u.signIn(a.URL, connectOptions{Email: "2-vehicles@smartcar.com"})
	if err != nil {
		t.Fatal(err)
	}
	links := paths(vehicleLinks(p))
	var ids []string
	for _, l := range links {
		ids = append(ids, strings.TrimPrefix(strings.SplitN(l, "?", 2)[0], "/vehicle/"))
	}
	hook = appHook(t, a, sb)
	for _, id := range ids {
		if !slices.Contains(hook.VehicleIDs, id) {
			t.Errorf("vehicle %s not subscribed after Connect: %v", id, hook.VehicleIDs)
		}
	}
	sb.Deliveries(hook.ID, 1+len(ids)) // the first deliveries

	id := ids[0]
	v := sb.Vehicle(id)
	unlock := v.Locked != nil && *v.Locked
	sb.PatchVehicle(id, map[string]any{"locked": !unlock})
	sb.Deliveries(hook.ID, 2+len(ids))
	before := len(sb.Journal("/v3/vehicles")) + len(sb.Journal("/v2.0/"))
	p, err = u.get(a.URL + links[0])
	if err != nil || p.Status != http.StatusOK {
		t.Fatalf("dashboard: %v %v", p, err)
	}
	page := htmlpage.Parse(p.Body)
	security, _ := page.ByID("security")
	want := "Locked"
	if unlock {
		want = "Unlocked"
	}
	if !strings.Contains(security.Text(), want) {
		t.Errorf("Locks tile %q, want %s", security.Text(), want)
	}
	if arrival, _ := page.ByID("security-arrival"); arrival.Attr("data-via") != "webhook" {
		t.Errorf("Locks tile arrival %q via %q, want webhook", arrival.Text(), arrival.Attr("data-via"))
	}
	if after := len(sb.Journal("/v3/vehicles")) + len(sb.Journal("/v2.0/")); after != before {
		t.Errorf("%d API calls for the dashboard, want none", after-before)
	}
	stop()

	a, _ = runApp(t, env, nil)
	sb = sandboxctl.New(t, a.SandboxURL)
	hook = appHook(t, a, sb)
	if hook.CallbackURI != a.URL+"/webhooks" {
		t.Errorf("after the restart: callback %q, want %s/webhooks", hook.CallbackURI, a.URL)
	}
	for _, id := range ids {
		if !slices.Contains(hook.VehicleIDs, id) {
			t.Errorf("after the restart: vehicle %s not subscribed: %v", id, hook.VehicleIDs)
		}
	}
}
