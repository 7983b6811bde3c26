package web

import (
	"strings"
	"testing"

	"smartcargo/internal/smartcar"
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
		{"login", &loginPage{basePage: full, link: &connectLink{before: "https://connect.example/oauth/authorize?a=1&b=2"}, Connected: true, Reason: "r"},
			[]string{`href="https://connect.example/oauth/authorize?a=1&amp;b=2"`, `id="login-reason"`, "Connect another vehicle", "flash &lt;b&gt;text&lt;/b&gt;", `id="logout-button"`}},
		{"vehicles", &vehiclesPage{}, []string{"No vehicles are connected yet"}},
		{"vehicles", &vehiclesPage{basePage: full, Vehicles: []vehicleRow{{ID: "v1", Make: "TESLA", Model: "Model 3", Year: 2022}}},
			[]string{`data-vehicle-id="v1"`, "Model 3", "2022"}},
		{"vehicles", &vehiclesPage{basePage: full, Total: 25, Page: 2, Pages: 3, First: 11, Last: 20, Prev: "/vehicle?page=1", Next: "/vehicle?page=3", ShowPageForm: true, ShowEnergy: true, ShowLocks: true,
			Vehicles: []vehicleRow{{ID: "v1", Energy: "battery", Range: "300", Percent: "80%", Fraction: .8, Lock: "Locked"}, {ID: "v2", Problem: "asleep"}}},
			[]string{`id="prev-page"`, `id="next-page"`, `id="page-input"`, "11–20 of 25", "300", "asleep", `id="units-toggle"`}},
		{"vehicle", &dashboardPage{}, []string{`id="vehicle"`, `id="disconnect-link"`}},
		{"vehicle", fullDashboard(full), []string{`id="lock-button"`, `id="start-charge-button"`, `id="vin"`, `id="battery"`, `id="fuel"`,
			`id="map-link"`, `<meter`, `id="not-shared"`, "Not available on this vehicle.", "5 minutes ago", "Front left door"}},
		{"disconnect", &disconnectPage{}, []string{`id="confirm-disconnect"`}},
		{"disconnect", &disconnectPage{basePage: full, VehicleID: "v 1", ConnectionID: "3", Name: "TESLA Model 3", Back: "/vehicle/v1?c=3"},
			[]string{`action="/vehicle/v%201/disconnect"`, `name="c" value="3"`, "TESLA Model 3"}},
		{"error", &errorPage{}, []string{`id="error-title"`}},
		{"error", &errorPage{basePage: full, Status: 429, Heading: "H", Message: "M", Action: ActionRetry, RetryURL: "/vehicle",
			RetryAfter: 1, Code: "RATE_LIMIT.VEHICLE", SmartcarRequestID: "sc-1", RequestID: "r-1"},
			[]string{`id="retry-link"`, "1 second ", "RATE_LIMIT.VEHICLE", "sc-1", "r-1"}},
		{"error", &errorPage{Action: ActionReconnect}, []string{`id="reconnect-button"`}},
		{"error", &errorPage{Action: ActionLogin}, []string{`id="login-link"`}},
		{"error", &errorPage{Action: ActionAccount}, []string{`id="retry-link"`}},
		{"error", &errorPage{basePage: full, Action: ActionVehicles}, []string{`id="vehicles-link"`}},
		{"vehicles", &vehiclesPage{basePage: basePage{Flash: flash{Kind: "warn", Message: "w"}}}, []string{`class="flash flash-warn"`}},
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

// fullDashboard is a dashboard with every tile of the table in some state, the ok
// ones laid out by their rows.
func fullDashboard(b basePage) *dashboardPage {
	p := &dashboardPage{basePage: b, VehicleID: "v1", ConnectionID: "2", Make: "TESLA", Model: "Model 3", Year: 2022,
		U: labelsFor("metric"), CanLock: true, CanCharge: true, NotShared: []string{"VIN", "oil life"}, DisconnectURL: "/vehicle/v1/disconnect?c=2"}
	values := signalValues{VIN: "0SC123", Fraction: .81, Range: 310, Amount: 40.5, Distance: 12345.6,
		Latitude: 39.7, Longitude: -104.9, Charge: smartcar.Charging, PluggedIn: true, Limit: .8, HasLimit: true,
		Tires: [4]float64{230, 231, 229, 228}, Locked: true,
		Openings: []openingRow{{Kind: "Door", Name: "Front left door", Status: "Open", Open: true}}}
	for _, row := range dashboardTiles {
		v := tileView{Key: row.key, Title: row.title}
		switch row.key {
		case "fuel":
			v.tile = tile{State: tileUnavailable, Note: "Not available on this vehicle."}
		case "tires":
			v.tile = tile{State: tileFailed, Note: "The vehicle is asleep."}
		default:
			v.tile = tile{State: tileOK, Age: "5 minutes ago", AgeTime: "2026-05-01T09:55:00Z"}
			v.Parts = row.show(values, p.U)
		}
		if row.header {
			p.VIN = v
		} else {
			p.Tiles = append(p.Tiles, v)
		}
	}
	return p
}
