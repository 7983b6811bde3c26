package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"smartcargo/static"
	"smartcargo/templates"
)

const (
	mgmtPath       = "/v2.0/management/connections"
	wrongAMTHeader = "Basic ZGVmYXVsdDp3cm9uZw==" // default:wrong
)

// newMgmtEnv is a sandbox with the test client (the default one, its management
// token testAMT) and a second app (token_test.go's), to see that each app's
// management token reaches only its own connections.
func newMgmtEnv(t *testing.T) (*sandboxEnv, *server) {
	t.Helper()
	return newEnvOpts(t, Options{ManagementToken: testAMT,
		Clients: []Client{{ID: otherClientID, Secret: otherClientSecret, RedirectURIs: []string{testRedirect}}}}, nil)
}

// amtAuth is the management API's Authorization: Basic base64("default:" + amt).
func amtAuth(amt string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("default:"+amt))
}

// mgmt calls the management API with an Authorization header as given.
func (e *sandboxEnv) mgmt(method, query, auth string) response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.base()+mgmtPath+query, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return e.do(req)
}

type connectionsPage struct {
	Connections []struct {
		UserID, VehicleID, ConnectedAt, Mode string
	}
	Paging struct{ Cursor *string }
}

func (e *sandboxEnv) connections(query, auth string) connectionsPage {
	e.t.Helper()
	r := e.mgmt("GET", query, auth)
	mustStatus(e.t, r, http.StatusOK)
	var p connectionsPage
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		e.t.Fatalf("connections: %v\n%s", err, r.Body)
	}
	return p
}

// userOf is the user id of an access token.
func (e *sandboxEnv) userOf(token string) string {
	e.t.Helper()
	var u struct{ ID string }
	json.Unmarshal([]byte(e.api("GET", "/v2.0/user", token, "").Body), &u)
	return u.ID
}

// vehiclesOf lists an access token's vehicles.
func (e *sandboxEnv) vehiclesOf(token string) []string {
	e.t.Helper()
	var list struct{ Vehicles []string }
	json.Unmarshal([]byte(e.api("GET", "/v2.0/vehicles", token, "").Body), &list)
	return list.Vehicles
}

// TestManagementConnections: GET lists the app's Connect approvals, newest first,
// filtered by vehicle, user and mode, in pages that a cursor walks; another app's
// token sees only that app's.
func TestManagementConnections(t *testing.T) {
	e, _ := newMgmtEnv(t)
	three := e.login(connectFlow{Make: "KIA", Email: "3-vehicles@smartcar.com"})
	e.clock.Advance(time.Minute)
	one := e.login(connectFlow{Make: "TESLA", Email: "driver@example.com"})
	e.clock.Advance(time.Minute)
	e.connect(connectFlow{Make: "FORD", Email: "other@example.com",
		Query: url.Values{"client_id": {otherClientID}, "redirect_uri": {testRedirect}}})

	r := e.mgmt("GET", "", amtAuth(testAMT))
	mustStatus(t, r, http.StatusOK)
	golden(t, "management_connections", r.Body)
	r = e.mgmt("GET", "?limit=1", amtAuth(testAMT))
	mustStatus(t, r, http.StatusOK)
	golden(t, "management_connections_page", r.Body)
	all := e.connections("", amtAuth(testAMT))
	threeUser, oneUser, kias := e.userOf(three.AccessToken), e.userOf(one.AccessToken), e.vehiclesOf(three.AccessToken)
	if len(all.Connections) != 4 || all.Paging.Cursor != nil {
		t.Fatalf("connections: %+v", all)
	}
	if c := all.Connections[0]; c.UserID != oneUser || c.VehicleID != e.vehiclesOf(one.AccessToken)[0] ||
		c.ConnectedAt != "2025-03-14T15:10:26.000Z" || c.Mode != "test" {
		t.Errorf("newest first: %+v", c)
	}
	for _, c := range all.Connections[1:] {
		if c.UserID != threeUser || !slices.Contains(kias, c.VehicleID) {
			t.Errorf("connection %+v is not one of the 3-vehicle account's", c)
		}
	}

	byVehicle := e.connections("?vehicle_id="+strings.ToUpper(kias[1]), amtAuth(testAMT))
	if len(byVehicle.Connections) != 1 || byVehicle.Connections[0].VehicleID != kias[1] {
		t.Errorf("by vehicle: %+v", byVehicle)
	}
	if byUser := e.connections("?user_id="+oneUser, amtAuth(testAMT)); len(byUser.Connections) != 1 || byUser.Connections[0].UserID != oneUser {
		t.Errorf("by user: %+v", byUser)
	}
	if n := len(e.connections("?mode=simulated", amtAuth(testAMT)).Connections); n != 0 {
		t.Errorf("mode=simulated: %d connections", n)
	}
	if n := len(e.connections("?mode=test&limit=1000", amtAuth(testAMT)).Connections); n != 4 {
		t.Errorf("mode=test, limit over the maximum: %d connections", n)
	}

	// Pages of 3 (empty cursor and limit as Node leaves them out; here explicit).
	var walked []string
	query := "?limit=3"
	for range 3 {
		p := e.connections(query, amtAuth(testAMT))
		for _, c := range p.Connections {
			walked = append(walked, c.VehicleID)
		}
		if p.Paging.Cursor == nil {
			break
		}
		query = "?limit=3&cursor=" + url.QueryEscape(*p.Paging.Cursor)
	}
	var want []string
	for _, c := range all.Connections {
		want = append(want, c.VehicleID)
	}
	if !slices.Equal(walked, want) {
		t.Errorf("paged walk %v, want %v", walked, want)
	}
	first := e.connections("?user_id="+threeUser+"&limit=2", amtAuth(testAMT))
	if len(first.Connections) != 2 || first.Paging.Cursor == nil {
		t.Fatalf("first page of 2: %+v", first)
	}
	// A cursor stays valid when a newer connection arrives before it.
	e.clock.Advance(time.Minute)
	e.login(connectFlow{Make: "BMW", Email: "later@example.com"})
	rest := e.connections("?user_id="+threeUser+"&limit=2&cursor="+url.QueryEscape(*first.Paging.Cursor), amtAuth(testAMT))
	if len(rest.Connections) != 1 || rest.Paging.Cursor != nil || rest.Connections[0].VehicleID != all.Connections[3].VehicleID {
		t.Errorf("second page: %+v", rest)
	}

	// The other app's token: its connection only.
	other := e.connections("", amtAuth(e.mgmtTokenOf(otherClientID)))
	if len(other.Connections) != 1 || other.Connections[0].UserID == threeUser || other.Connections[0].UserID == oneUser {
		t.Errorf("other app's connections: %+v", other)
	}
	// The Python SDK asks with a trailing slash.
	mustStatus(t, e.mgmt("GET", "/?limit=1", amtAuth(testAMT)), http.StatusOK)
}

// mgmtTokenOf reads a client's management token from the control API, as a
// developer would find it in the console.
func (e *sandboxEnv) mgmtTokenOf(clientID string) string {
	e.t.Helper()
	var out struct {
		Clients []struct{ ID, ManagementToken string }
	}
	e.ctl("GET", "/clients", "", &out)
	for _, c := range out.Clients {
		if c.ID == clientID {
			return c.ManagementToken
		}
	}
	e.t.Fatalf("no client %s in %+v", clientID, out)
	return ""
}

// TestManagementTokens: the default client has the given token, the other a
// generated one of its own; the console shows both.
func TestManagementTokens(t *testing.T) {
	e, s := newMgmtEnv(t)
	if got := e.mgmtTokenOf(testClientID); got != testAMT {
		t.Errorf("default client's token %q, want %q", got, testAMT)
	}
	other := e.mgmtTokenOf(otherClientID)
	if other == "" || other == testAMT || s.amtOf(otherClientID) != other {
		t.Errorf("other client's token %q", other)
	}
	r := e.get("/__sandbox/")
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r.Body, testAMT, other)
	// The v3 webhook registry is the default client's: another app's token is refused there.
	mustStatus(t, e.api("GET", "/v3/webhooks", other, ""), http.StatusUnauthorized)
	mustStatus(t, e.api("GET", "/v3/webhooks", testAMT, ""), http.StatusOK)
}

// TestManagementTokensSurviveRestart: the generated tokens are kept with the state,
// so what an app was given keeps working after a restart.
func TestManagementTokensSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	start := func() map[string]string {
		srv, err := NewHTTPServer(Options{Clients: []Client{
			{ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect}},
			{ID: otherClientID, Secret: otherClientSecret, RedirectURIs: []string{testRedirect}},
		}, Templates: templates.FS, Static: static.FS, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		tokens := srv.ManagementTokens()
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		if len(tokens) != 2 || tokens[testClientID] != srv.ManagementToken() || tokens[otherClientID] == "" {
			t.Fatalf("tokens %v", tokens)
		}
		return tokens
	}
	first, again := start(), start()
	if !maps.Equal(first, again) {
		t.Errorf("tokens %v after a restart, were %v", again, first)
	}
}

// TestManagementAuthFirst: every management route checks the token before anything
// else: a wrong, missing or misplaced one is 401 AUTHENTICATION with a null code,
// whatever the parameters.
func TestManagementAuthFirst(t *testing.T) {
	e, _ := newMgmtEnv(t)
	token, id := e.loginVehicle("a@b.c", "KIA", allScope)
	wrong := []string{"", wrongAMTHeader, "Bearer " + testAMT, "Bearer " + token,
		"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+testAMT)), "Basic !!!", amtAuth("")}
	queries := []string{"", "?limit=abc", "?limit=0&cursor=%%%", "?vehicle_id=nope&user_id=nope", "?mode=banana"}
	for _, auth := range wrong {
		for _, q := range queries {
			for _, m := range []string{"GET", "DELETE"} {
				r := e.mgmt(m, q, auth)
				if r.StatusCode != http.StatusUnauthorized {
					t.Fatalf("%s %s with %q: %d %s", m, q, auth, r.StatusCode, r.Body)
				}
				golden(t, "error_authentication", r.Body)
			}
		}
	}
	// v3 webhooks and v2 unsubscribe, with bodies and ids that are wrong too.
	for _, tok := range []string{"", "wrong", token} {
		mustStatus(t, e.api("POST", "/v3/webhooks", tok, `{not json`), http.StatusUnauthorized)
		mustStatus(t, e.api("DELETE", "/v3/webhooks/nope/subscriptions/nope", tok, ""), http.StatusUnauthorized)
		mustStatus(t, e.api("DELETE", "/v2.0/vehicles/"+id+"/webhooks/nope", tok, ""), http.StatusUnauthorized)
	}
}

// TestManagementValidation: with the right token, bad parameters are 400 VALIDATION
// in Smartcar's shape.
func TestManagementValidation(t *testing.T) {
	e, _ := newMgmtEnv(t)
	e.login(connectFlow{Make: "KIA", Email: "a@b.c"})
	golden(t, "error_validation_connections_limit", e.mgmt("GET", "?limit=abc", amtAuth(testAMT)).Body)
	for _, q := range []string{"?limit=0", "?limit=-1", "?limit=1.5", "?cursor=nope", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("1|a|b")),
		"?vehicle_id=nope", "?user_id=nope", "?mode=banana"} {
		r := e.mgmt("GET", q, amtAuth(testAMT))
		mustStatus(t, r, http.StatusBadRequest)
		mustContain(t, r.Body, `"type":"VALIDATION","code":"PARAMETER"`)
		checkErrorJSON(t, q, r.Body, r.Header.Get("sc-request-id"), http.StatusBadRequest)
	}
	r := e.mgmt("DELETE", "", amtAuth(testAMT))
	mustStatus(t, r, http.StatusBadRequest)
	golden(t, "error_validation_connections_filter", r.Body)
	mustStatus(t, e.mgmt("DELETE", "?vehicle_id=nope", amtAuth(testAMT)), http.StatusBadRequest)
	mustStatus(t, e.mgmt("PUT", "", amtAuth(testAMT)), http.StatusNotFound)
}

// TestDeleteConnections: DELETE disconnects by vehicle, by user or both, answers
// what it deleted, and the tokens stop reaching those vehicles at once.
func TestDeleteConnections(t *testing.T) {
	e, _ := newMgmtEnv(t)
	tok := e.login(connectFlow{Make: "KIA", Email: "3-vehicles@smartcar.com"})
	ids, user := e.vehiclesOf(tok.AccessToken), e.userOf(tok.AccessToken)
	single := e.login(connectFlow{Make: "TESLA", Email: "single@example.com"})
	singleID, singleUser := e.vehiclesOf(single.AccessToken)[0], e.userOf(single.AccessToken)

	r := e.mgmt("DELETE", "?vehicle_id="+ids[0], amtAuth(testAMT))
	mustStatus(t, r, http.StatusOK)
	golden(t, "management_connections_deleted", r.Body)
	var del struct{ Connections []map[string]string }
	json.Unmarshal([]byte(r.Body), &del)
	if len(del.Connections) != 1 || del.Connections[0]["vehicleId"] != ids[0] || del.Connections[0]["userId"] != user {
		t.Fatalf("deleted %s", r.Body)
	}
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+ids[0]+"/odometer", tok.AccessToken, ""), http.StatusUnauthorized)
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+ids[1]+"/odometer", tok.AccessToken, ""), http.StatusOK)
	if got := e.vehiclesOf(tok.AccessToken); !slices.Equal(got, ids[1:]) {
		t.Errorf("vehicles after deleting one: %v", got)
	}
	if n := len(e.connections("?user_id="+user, amtAuth(testAMT)).Connections); n != 2 {
		t.Errorf("%d connections left, want 2", n)
	}

	// Both filters: only that user's vehicle.
	r = e.mgmt("DELETE", "?user_id="+user+"&vehicle_id="+singleID, amtAuth(testAMT))
	mustStatus(t, r, http.StatusOK)
	mustContain(t, r.Body, `{"connections":[]}`)

	// By user: the rest, and the approval's tokens are gone (no vehicle left).
	r = e.mgmt("DELETE", "?user_id="+user, amtAuth(testAMT))
	mustStatus(t, r, http.StatusOK)
	json.Unmarshal([]byte(r.Body), &del)
	if len(del.Connections) != 2 {
		t.Fatalf("deleted by user: %s", r.Body)
	}
	mustStatus(t, e.api("GET", "/v2.0/user", tok.AccessToken, ""), http.StatusUnauthorized)
	mustStatus(t, e.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}), http.StatusBadRequest)
	mustContain(t, e.mgmt("DELETE", "?user_id="+user, amtAuth(testAMT)).Body, `{"connections":[]}`)

	// The other user is untouched; the same user connecting again sees the grant
	// screen (its earlier approval went with its connections) and is connected anew.
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+singleID+"/odometer", single.AccessToken, ""), http.StatusOK)
	if c := e.connections("", amtAuth(testAMT)).Connections; len(c) != 1 || c[0].UserID != singleUser {
		t.Errorf("left: %+v", c)
	}
	again := e.login(connectFlow{Make: "KIA", Email: "3-vehicles@smartcar.com"})
	mustStatus(t, e.api("GET", "/v2.0/vehicles/"+ids[0]+"/odometer", again.AccessToken, ""), http.StatusOK)
	if n := len(e.connections("?user_id="+user, amtAuth(testAMT)).Connections); n != 3 {
		t.Errorf("after connecting again: %d connections", n)
	}
}
