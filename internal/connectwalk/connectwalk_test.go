package connectwalk_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/sandbox"
	"smartcargo/internal/sandboxctl"
	"smartcargo/static"
	"smartcargo/templates"
)

const redirect = "https://app.example/exchange"

func startSandbox(t *testing.T) string {
	t.Helper()
	h, err := sandbox.NewServer(sandbox.Options{
		Clients:   []sandbox.Client{{ID: "id", Secret: "secret", RedirectURIs: []string{redirect}}},
		Templates: templates.FS, Static: static.FS,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func authURL(origin string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {"id"}, "redirect_uri": {redirect},
		"scope": {"read_vehicle_info"}, "state": {"s1"}, "mode": {"test"}, "approval_prompt": {"force"}}
	for k, v := range extra {
		q[k] = v
	}
	return origin + "/oauth/authorize?" + q.Encode()
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func TestWalk(t *testing.T) {
	origin := startSandbox(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		extra     url.Values
		o         connectwalk.Options
		wantError string
	}{
		{name: "first brand", o: connectwalk.Options{}},
		{name: "chosen brand", o: connectwalk.Options{Make: "KIA", Email: "3-vehicles@smartcar.com"}},
		{name: "make bypass", extra: url.Values{"make": {"TESLA"}}},
		{name: "deny", o: connectwalk.Options{Deny: true}, wantError: "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			back, err := connectwalk.Walk(ctx, client(), authURL(origin, tc.extra), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(back.String(), redirect+"?") || back.Query().Get("state") != "s1" {
				t.Fatalf("came back to %s", back)
			}
			q := back.Query()
			if tc.wantError != "" {
				if q.Get("error") != tc.wantError || q.Get("code") != "" {
					t.Errorf("error=%q code=%q, want error %q and no code", q.Get("error"), q.Get("code"), tc.wantError)
				}
			} else if q.Get("code") == "" {
				t.Errorf("no code: %s", back)
			}
		})
	}
}

func TestWalkErrors(t *testing.T) {
	origin := startSandbox(t)
	ctx := context.Background()
	if _, err := connectwalk.Walk(ctx, client(), origin+"/oauth/authorize?client_id=id", connectwalk.Options{}); err == nil {
		t.Error("a Connect URL without redirect_uri must be refused")
	}
	_, err := connectwalk.Walk(ctx, client(), authURL(origin, url.Values{"client_id": {"unknown"}}), connectwalk.Options{})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("an unknown client ends on the sandbox's error page (400), got %v", err)
	}
	_, err = connectwalk.Walk(ctx, client(), authURL(origin, nil), connectwalk.Options{Make: "DELOREAN"})
	if err == nil || !strings.Contains(err.Error(), "DELOREAN") {
		t.Errorf("an unknown brand must be named in the error, got %v", err)
	}
}

// sharedVehicles returns the vehicle ids of the sandbox's latest approval by email,
// read from its control API.
func sharedVehicles(t *testing.T, origin, email string) []string {
	t.Helper()
	for _, u := range sandboxctl.New(t, origin).Users() {
		if u.Email == email {
			return u.VehicleIDs
		}
	}
	t.Fatalf("no approval by %s", email)
	return nil
}

func TestWalkShare(t *testing.T) {
	origin := startSandbox(t)
	ctx := context.Background()
	email := "3-vehicles@smartcar.com"
	walk := func(extra url.Values, share []int) error {
		_, err := connectwalk.Walk(ctx, client(), authURL(origin, extra), connectwalk.Options{Make: "KIA", Email: email, Share: share})
		return err
	}
	if err := walk(nil, []int{2}); err != nil {
		t.Fatal(err)
	}
	third := sharedVehicles(t, origin, email)
	if err := walk(nil, nil); err != nil {
		t.Fatal(err)
	}
	all := sharedVehicles(t, origin, email)
	if len(third) != 1 || len(all) != 3 || all[2] != third[0] {
		t.Fatalf("Share [2] shared %v; all three are %v", third, all)
	}
	if err := walk(nil, []int{0, 1}); err != nil {
		t.Fatal(err)
	}
	if got := sharedVehicles(t, origin, email); len(got) != 2 || got[0] != all[0] || got[1] != all[1] {
		t.Errorf("Share [0 1] shared %v of %v", got, all)
	}
	if err := walk(nil, []int{3}); err == nil || !strings.Contains(err.Error(), "no vehicle #3") {
		t.Errorf("a position past the list: %v", err)
	}
	// Connect remembers the approval and skips the grant page: Share cannot apply.
	if err := walk(url.Values{"approval_prompt": {"auto"}}, []int{0}); err == nil || !strings.Contains(err.Error(), "skipped the grant page") {
		t.Errorf("Share without a grant page: %v", err)
	}
}
