package smartcar_test

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"smartcargo/internal/smartcar"
)

// vehicleIDs are the vehicle ids of connections, sorted.
func vehicleIDs(cs []smartcar.Connection) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.VehicleID)
	}
	slices.Sort(ids)
	return ids
}

// allConnections collects the iterator's connections; an error fails the test.
func allConnections(t *testing.T, m *smartcar.Management, f smartcar.ConnectionFilter, limit int) []smartcar.Connection {
	t.Helper()
	var out []smartcar.Connection
	for c, err := range m.Connections(t.Context(), f, limit) {
		if err != nil {
			t.Fatalf("Connections(%+v, %d): %v", f, limit, err)
		}
		out = append(out, c)
	}
	return out
}

func sorted(ids ...[]string) []string {
	out := slices.Concat(ids...)
	slices.Sort(out)
	return out
}

// TestManagementConnections lists the connections two Connect flows made, filtered
// and a page at a time, then deletes them by vehicle and by user: the deleted
// vehicles' tokens are refused afterwards.
func TestManagementConnections(t *testing.T) {
	e := newV3Env(t, nil)
	alice := e.connect("alice@example.com", "TESLA", nil)
	bob := e.connect("bob@example.com", "AUDI", nil)
	m := smartcar.NewManagement(e.srv.Client(), e.srv.URL, testManagementToken)
	ctx := t.Context()
	total := len(alice.vehicles) + len(bob.vehicles)

	all := allConnections(t, m, smartcar.ConnectionFilter{}, 0)
	if got, want := vehicleIDs(all), sorted(alice.vehicles, bob.vehicles); !slices.Equal(got, want) {
		t.Fatalf("connections %v, want %v", got, want)
	}
	for i, c := range all {
		owner := alice
		if slices.Contains(bob.vehicles, c.VehicleID) {
			owner = bob
		}
		if c.UserID != owner.id || c.ConnectedAt.IsZero() || c.Mode != smartcar.ModeTest {
			t.Errorf("connection %+v, want user %s, a time and mode test", c, owner.id)
		}
		if i > 0 && c.ConnectedAt.After(all[i-1].ConnectedAt) {
			t.Errorf("connection %d is newer than the one before: want newest first", i)
		}
	}
	last := e.lastCall()
	if last.Path != "/v2.0/management/connections" || last.ClientID != sandboxApp.id || !strings.HasPrefix(last.RequestHeaders["authorization"], "Basic ") {
		t.Errorf("sent %s %s as %q with authorization %q", last.Method, last.Path, last.ClientID, last.RequestHeaders["authorization"])
	}

	// Filters.
	if got := vehicleIDs(allConnections(t, m, smartcar.ConnectionFilter{UserID: alice.id}, 0)); !slices.Equal(got, sorted(alice.vehicles)) {
		t.Errorf("alice's connections %v, want %v", got, alice.vehicles)
	}
	one := allConnections(t, m, smartcar.ConnectionFilter{VehicleID: bob.vehicles[0]}, 0)
	if len(one) != 1 || one[0].UserID != bob.id {
		t.Errorf("the connections of bob's vehicle: %+v", one)
	}
	if got := allConnections(t, m, smartcar.ConnectionFilter{Mode: smartcar.ModeLive}, 0); len(got) != 0 {
		t.Errorf("live connections: %+v, want none", got)
	}

	// One page, then every page through the iterator with limit 1: one request each.
	page, err := m.ConnectionPage(ctx, smartcar.ConnectionFilter{}, 1, "")
	if err != nil || len(page.Connections) != 1 || page.Connections[0] != all[0] || page.Cursor == "" {
		t.Fatalf("first page of 1: %+v %v", page, err)
	}
	next, err := m.ConnectionPage(ctx, smartcar.ConnectionFilter{}, 1, page.Cursor)
	if err != nil || len(next.Connections) != 1 || next.Connections[0] != all[1] {
		t.Errorf("second page of 1: %+v %v, want %+v", next, err, all[1])
	}
	before := e.countCalls("/management/connections")
	if paged := allConnections(t, m, smartcar.ConnectionFilter{}, 1); !slices.Equal(paged, all) {
		t.Errorf("paged by 1: %+v, want %+v", paged, all)
	}
	if n := e.countCalls("/management/connections") - before; n != total {
		t.Errorf("paging %d connections by 1 took %d requests", total, n)
	}
	before = e.countCalls("/management/connections")
	for range m.Connections(ctx, smartcar.ConnectionFilter{}, 1) {
		break
	}
	if n := e.countCalls("/management/connections") - before; n != 1 {
		t.Errorf("stopping after the first connection took %d requests, want 1", n)
	}

	// Delete by vehicle: that vehicle's token is refused, the others still work.
	gone, err := m.DeleteConnections(ctx, smartcar.ConnectionFilter{VehicleID: alice.vehicles[0]})
	if err != nil || len(gone) != 1 || gone[0].VehicleID != alice.vehicles[0] || gone[0].UserID != alice.id {
		t.Fatalf("DeleteConnections(vehicle): %+v %v", gone, err)
	}
	var se *smartcar.Error
	if _, err := alice.v2.Attributes(ctx, alice.vehicles[0]); !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Errorf("the deleted vehicle's attributes: %v, want 401", err)
	}
	if got := vehicleIDs(allConnections(t, m, smartcar.ConnectionFilter{}, 0)); slices.Contains(got, alice.vehicles[0]) || len(got) != total-1 {
		t.Errorf("connections after deleting %s: %v", alice.vehicles[0], got)
	}

	// Delete by user: every vehicle of bob's.
	gone, err = m.DeleteConnections(ctx, smartcar.ConnectionFilter{UserID: bob.id})
	if err != nil || !slices.Equal(vehicleIDs(gone), sorted(bob.vehicles)) {
		t.Fatalf("DeleteConnections(user): %+v %v, want %v", gone, err, bob.vehicles)
	}
	for _, id := range bob.vehicles {
		if _, err := bob.v2.Attributes(ctx, id); !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized || se.Type != smartcar.TypeAuthentication {
			t.Errorf("bob's vehicle %s after the delete: %v, want 401 AUTHENTICATION", id, err)
		}
	}
	if got := allConnections(t, m, smartcar.ConnectionFilter{UserID: bob.id}, 0); len(got) != 0 {
		t.Errorf("bob's connections after the delete: %+v", got)
	}
	// Nothing left to delete is no error.
	if gone, err := m.DeleteConnections(ctx, smartcar.ConnectionFilter{UserID: bob.id}); err != nil || len(gone) != 0 {
		t.Errorf("deleting again: %+v %v, want none", gone, err)
	}
}

// TestManagementConnectionsErrors: a wrong management token is 401 AUTHENTICATION
// for the list, the iterator and the delete; a bad filter 400 VALIDATION; a delete
// without a filter is refused before any request.
func TestManagementConnectionsErrors(t *testing.T) {
	e := newV3Env(t, nil)
	ctx := t.Context()
	var se *smartcar.Error
	isAuth := func(err error) bool {
		return errors.As(err, &se) && se.StatusCode == http.StatusUnauthorized && se.Type == smartcar.TypeAuthentication
	}
	wrong := smartcar.NewManagement(e.srv.Client(), e.srv.URL, "wrong")
	if _, err := wrong.ConnectionPage(ctx, smartcar.ConnectionFilter{}, 0, ""); !isAuth(err) {
		t.Errorf("ConnectionPage with a wrong token: %v, want 401 AUTHENTICATION", err)
	}
	n := 0
	for c, err := range wrong.Connections(ctx, smartcar.ConnectionFilter{}, 0) {
		n++
		if !isAuth(err) || c != (smartcar.Connection{}) {
			t.Errorf("Connections with a wrong token: %+v %v, want 401 AUTHENTICATION", c, err)
		}
	}
	if n != 1 {
		t.Errorf("Connections with a wrong token yielded %d times, want once", n)
	}
	if _, err := wrong.DeleteConnections(ctx, smartcar.ConnectionFilter{UserID: "00000000-0000-4000-8000-000000000000"}); !isAuth(err) {
		t.Errorf("DeleteConnections with a wrong token: %v, want 401 AUTHENTICATION", err)
	}

	m := smartcar.NewManagement(e.srv.Client(), e.srv.URL, testManagementToken)
	_, err := m.ConnectionPage(ctx, smartcar.ConnectionFilter{UserID: "not-a-uuid"}, 0, "")
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest || se.Type != smartcar.TypeValidation || len(se.Detail) == 0 || se.Detail[0].Field != "user_id" {
		t.Errorf("a user id that is no UUID: %v, want 400 VALIDATION on user_id", err)
	}
	before := e.countCalls("/management/connections")
	if _, err := m.DeleteConnections(ctx, smartcar.ConnectionFilter{}); err == nil || errors.As(err, &se) {
		t.Errorf("DeleteConnections without a filter: %v, want an error before any request", err)
	}
	if e.countCalls("/management/connections") != before {
		t.Error("DeleteConnections without a filter sent a request")
	}
}

// roundTripFunc lets a test see the request a client would send, without a server.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestManagementOrigins: with Smartcar's v3 management origin, the connections go to
// its v2.0 management origin with Basic "default:"+token, the webhooks stay on the v3
// one with the Bearer token.
func TestManagementOrigins(t *testing.T) {
	var got []*http.Request
	stop := errors.New("not sent")
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, r)
		return nil, stop
	})}
	m := smartcar.NewManagement(hc, smartcar.DefaultManagementOrigin, "amt")
	if _, err := m.ConnectionPage(t.Context(), smartcar.ConnectionFilter{}, 0, ""); !errors.Is(err, stop) {
		t.Fatalf("ConnectionPage: %v", err)
	}
	if _, err := m.Webhooks(t.Context()); !errors.Is(err, stop) {
		t.Fatalf("Webhooks: %v", err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("default:amt"))
	if len(got) != 2 ||
		got[0].URL.String() != smartcar.DefaultManagementV2Origin+"/v2.0/management/connections" || got[0].Header.Get("Authorization") != basic ||
		got[1].URL.String() != smartcar.DefaultManagementOrigin+"/v3/webhooks" || got[1].Header.Get("Authorization") != "Bearer amt" {
		for _, r := range got {
			t.Logf("%s %s (%s)", r.Method, r.URL, r.Header.Get("Authorization"))
		}
		t.Error("want the connections on the v2.0 management origin with Basic, the webhooks on the v3 one with Bearer")
	}
}
