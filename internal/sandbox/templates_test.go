package sandbox

import (
	"strings"
	"testing"
)

// TestTemplates executes every Connect page with its data struct, so a field renamed
// in Go but not in a template fails here rather than in front of a user.
func TestTemplates(t *testing.T) {
	_, s := newEnvOpts(t, Options{}, nil)
	b := basePage{Title: "T", AppName: "example.com"}
	pages := map[string]any{
		"preamble":         preamblePage{basePage: b, Session: "s", Action: "/connect/brands", Make: "KIA"},
		"brands":           brandsPage{basePage: b, Session: "s", Query: "k", Brands: brands},
		"login":            loginPage{basePage: b, Session: "s", Make: "KIA", Brand: "Kia", Username: "a@b.c", Error: "E"},
		"grant":            grantPage{basePage: b, Session: "s", Brand: "Kia", Email: "a@b.c", Permissions: []string{"p"}, Vehicles: []grantVehicle{{ID: "1", Label: "L", VIN: "V", Checked: true}, {ID: "2", Incompatible: true}}, SingleSelect: true, Error: "E"},
		"incompatible":     incompatiblePage{basePage: b, Session: "s", Vehicle: "2020 Kia Niro EV", VIN: "V"},
		"battery-capacity": batteryCapacityPage{basePage: b},
		"error":            errorPage{basePage: b, Status: 400, Message: "M"},
	}
	for name, data := range pages {
		t.Run(name, func(t *testing.T) {
			out, err := s.pages.Execute(name, data)
			if err != nil {
				t.Fatal(err)
			}
			html := string(out)
			if !strings.Contains(html, `class="page-content"`) || !strings.Contains(html, "/static/css/connect.css") {
				t.Errorf("page lacks the layout")
			}
			if strings.Contains(html, "style=") || strings.Contains(html, "<script") {
				t.Errorf("inline style or script (blocked by the CSP)")
			}
		})
	}
}
