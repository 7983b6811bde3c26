package web

import (
	"strings"
	"testing"
)

// TestEveryPageRenders executes each page with its own struct, empty and filled, so a
// field renamed in Go but not in the template fails here rather than for a user.
func TestEveryPageRenders(t *testing.T) {
	pages, err := newRenderer(testTemplates(), discardLogger(t), "Sandbox: log in with any email")
	if err != nil {
		t.Fatal(err)
	}
	full := basePage{Title: "T", SignedIn: true, Units: "imperial", Flash: flash{Kind: "error", Message: "flash <b>text</b>"}}
	tests := []struct {
		page string
		data basePart
		want []string
	}{
		{"login", &loginPage{}, []string{`id="connect-button"`}},
		{"login", &loginPage{basePage: full, ConnectURL: "https://connect.example/oauth/authorize?a=1&b=2", Connected: 2, Reason: "r"},
			[]string{`href="https://connect.example/oauth/authorize?a=1&amp;b=2"`, `id="login-reason"`, "Connect another vehicle", "flash &lt;b&gt;text&lt;/b&gt;", `id="logout-button"`}},
		{"vehicles", &vehiclesPage{}, []string{"No vehicles are connected yet"}},
		{"vehicles", &vehiclesPage{basePage: full, Vehicles: []vehicleRow{{ID: "v1", Make: "TESLA", Model: "Model 3", Year: 2022}}},
			[]string{`data-vehicle-id="v1"`, "Model 3", "2022"}},
		{"error", &errorPage{}, []string{`id="error-title"`}},
		{"error", &errorPage{basePage: full, Status: 429, Heading: "H", Message: "M", Action: ActionRetry, RetryURL: "/vehicle",
			RetryAfter: 1, Code: "RATE_LIMIT.VEHICLE", SmartcarRequestID: "sc-1", RequestID: "r-1"},
			[]string{`id="retry-link"`, "1 second ", "RATE_LIMIT.VEHICLE", "sc-1", "r-1"}},
		{"error", &errorPage{Action: ActionReconnect}, []string{`id="reconnect-button"`}},
		{"error", &errorPage{Action: ActionLogin}, []string{`id="login-link"`}},
		{"error", &errorPage{Action: ActionAccount}, []string{`id="retry-link"`}},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		seen[tc.page] = true
		w := newRecorder()
		pages.render(w, mustRequest(t, "GET", "/"), 200, tc.page, tc.data)
		if w.Code != 200 {
			t.Errorf("%s (%T): status %d", tc.page, tc.data, w.Code)
			continue
		}
		body := w.Body.String()
		for _, want := range append(tc.want, "Sandbox: log in with any email", "/static/css/app.css") {
			if !strings.Contains(body, want) {
				t.Errorf("%s: missing %q", tc.page, want)
			}
		}
		if strings.Contains(body, "style=") || strings.Contains(body, "<script") {
			t.Errorf("%s: inline style or script (the CSP forbids them)", tc.page)
		}
	}
	for _, name := range pageNames {
		if !seen[name] {
			t.Errorf("page %s is not exercised here", name)
		}
	}
}
