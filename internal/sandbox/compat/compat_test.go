package compat

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// testCatalog is a small catalog shaped like the sandbox's (the sandbox's own tests
// check the real one against its routes).
func testCatalog() Catalog {
	return Catalog{
		Permissions: []Permission{
			{"read_vehicle_info", "Vehicle info"}, {"read_odometer", "Odometer"}, {"read_location", "Location"},
			{"read_fuel", "Fuel tank"}, {"read_battery", "EV battery"}, {"read_charge", "EV charging status"},
			{"control_security", "Lock & unlock"}, {"read_alerts", ""},
		},
		Endpoints: []Endpoint{
			{"/", "read_vehicle_info", FeatureNone},
			{"/odometer", "read_odometer", FeatureNone},
			{"/location", "read_location", FeatureNone},
			{"/fuel", "read_fuel", FeatureFuel},
			{"/battery", "read_battery", FeatureBattery},
			{"/battery/capacity", "read_battery", FeatureBattery},
			{"/charge", "read_charge", FeatureBattery},
			{"/charge/limit", "read_charge", FeatureBattery},
			{"/security", "control_security", FeatureNone},
		},
	}
}

func TestModelYear(t *testing.T) {
	tests := []struct {
		vin  string
		year int
		ok   bool
	}{
		{"WAUAFAFL1GN014882", 2016, true}, // the Node e2e suite's Audi
		{"5YJXCDE22HF068739", 2017, true}, // its Tesla
		{"5YJ3E1EA7KF317000", 2019, true},
		{"1G1RD6448DU000001", 1983, true}, // a digit in position 7: the 1980-2009 cycle
		{"1G1RD6EA8DU000001", 2013, true},
		{"1G1RD6EA8PU000001", 2023, true},
		{"1G1RD6EA81U000001", 2031, true},
		{"1G1RD6EA80U000001", 0, false}, // 0 is no year
		{"1G1RD6EA8UU000001", 0, false}, // nor is U
	}
	for _, tt := range tests {
		year, ok := modelYear(tt.vin)
		if year != tt.year || ok != tt.ok {
			t.Errorf("modelYear(%s) = %d, %v; want %d, %v", tt.vin, year, ok, tt.year, tt.ok)
		}
	}
}

func TestMakeOfVIN(t *testing.T) {
	tests := map[string]string{
		"5YJXCDE22HF068739": "TESLA",
		"WAUAFAFL1GN014882": "AUDI",
		"wauafafl1gn014882": "AUDI",
		"0SCAUDI037A5ADB1C": "AUDI",
		"0SCTESL0123456789": "TESLA",
		"0SCMERC0123456789": "MERCEDES_BENZ",
		"0SCBMWX0123456789": "BMW",
		"0SCGMCT0386A85356": "", // GMC's test prefix is 0SCGMCX
		"ZZZ12345678901234": "",
		"5YJXCDE22HF06873":  "", // 16 characters
	}
	for vin, want := range tests {
		mk, ok := MakeOfVIN(vin)
		if mk.Make != want || ok != (want != "") {
			t.Errorf("MakeOfVIN(%s) = %q, %v; want %q", vin, mk.Make, ok, want)
		}
	}
	// Every make's test prefix names that make again.
	for _, mk := range Makes() {
		if got, ok := MakeOfVIN(TestVINPrefix(mk.Make) + "0123456789"); !ok || got.Make != mk.Make {
			t.Errorf("test VIN of %s decodes to %q", mk.Make, got.Make)
		}
	}
}

// capable renders a by-VIN answer as "permission endpoint capable/reason" lines.
func capable(c Compatibility) string {
	var b strings.Builder
	for _, cp := range c.Capabilities {
		r := "capable"
		if !cp.Capable {
			r = *cp.Reason
		}
		b.WriteString(cp.Permission + " " + cp.Endpoint + " " + r + "\n")
	}
	return b.String()
}

func TestCheckVIN(t *testing.T) {
	tab := New(testCatalog())
	tests := []struct {
		name       string
		q          VINQuery
		compatible bool
		reason     string
		caps       string
	}{
		{"Tesla Model X 2017", VINQuery{VIN: "5YJXCDE22HF068739", Scope: "read_odometer read_location read_fuel read_battery"}, true, "",
			"read_odometer /odometer capable\nread_location /location capable\nread_fuel /fuel VEHICLE_NOT_CAPABLE\n" +
				"read_battery /battery capable\nread_battery /battery/capacity capable\n"},
		{"Audi 2016: no model of that year", VINQuery{VIN: "WAUAFAFL1GN014882", Scope: "read_odometer read_location", Country: "US"}, true, "",
			"read_odometer /odometer SMARTCAR_NOT_CAPABLE\nread_location /location SMARTCAR_NOT_CAPABLE\n"},
		{"Audi 2019: e-tron and Q5", VINQuery{VIN: "WAUAFAFL1KN014882", Scope: "read_fuel read_charge"}, true, "",
			"read_fuel /fuel capable\nread_charge /charge capable\nread_charge /charge/limit capable\n"},
		{"Ram: ICE only", VINQuery{VIN: "1C6SRFFT5KN000001", Scope: "read_battery read_fuel"}, true, "",
			"read_battery /battery VEHICLE_NOT_CAPABLE\nread_battery /battery/capacity VEHICLE_NOT_CAPABLE\nread_fuel /fuel capable\n"},
		{"test VIN: every year of the make", VINQuery{VIN: "0SCTESL0000000001", Scope: "read_fuel read_vehicle_info"}, true, "",
			"read_fuel /fuel VEHICLE_NOT_CAPABLE\nread_vehicle_info / capable\n"},
		{"duplicates and a permission without a v2 endpoint", VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer read_alerts read_odometer"}, true, "",
			"read_odometer /odometer capable\n"},
		{"unknown WMI", VINQuery{VIN: "ZZZ12345678901234", Scope: "read_odometer"}, false, ReasonMakeNotCompatible, ""},
		{"outside Smartcar's regions", VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Country: "JP"}, false, ReasonMakeNotCompatible, ""},
		{"Canada: the make only", VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Country: "ca"}, true, "", ""},
		{"Germany: the make only", VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Country: "DE"}, true, "", ""},
		{"level fuel", VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_fuel read_battery", Mode: "test", Level: "fuel"}, true, "",
			"read_fuel /fuel capable\nread_battery /battery VEHICLE_NOT_CAPABLE\nread_battery /battery/capacity VEHICLE_NOT_CAPABLE\n"},
		{"level without mode, any VIN", VINQuery{VIN: "ZZZ12345678901234", Scope: "read_fuel", Level: "bev"}, true, "",
			"read_fuel /fuel VEHICLE_NOT_CAPABLE\n"},
		{"level incompatible", VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Mode: "test", Level: "incompatible"}, false, ReasonVehicleNotCompatible, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tab.CheckVIN(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			reason := ""
			if c.Reason != nil {
				reason = *c.Reason
			}
			if c.Compatible != tt.compatible || reason != tt.reason {
				t.Errorf("compatible %v, reason %q; want %v, %q", c.Compatible, reason, tt.compatible, tt.reason)
			}
			if got := capable(c); got != tt.caps {
				t.Errorf("capabilities:\n%swant:\n%s", got, tt.caps)
			}
			if c.Capabilities == nil {
				t.Error("capabilities is nil (would be null on the wire)")
			}
		})
	}
}

func TestCheckVINRefuses(t *testing.T) {
	tab := New(testCatalog())
	tests := []struct {
		q     VINQuery
		field string
	}{
		{VINQuery{VIN: "", Scope: "read_odometer"}, "vin"},
		{VINQuery{VIN: "undefined", Scope: "read_odometer"}, "vin"},
		{VINQuery{VIN: "5YJ3E1EA7KF31700-", Scope: "read_odometer"}, "vin"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: ""}, "scope"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer read_odometr"}, "scope"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Country: "USA"}, "country"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Country: "XX"}, "country"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Mode: "demo"}, "mode"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Mode: "test"}, "test_mode_compatibility_level"},
		{VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Mode: "test", Level: "pizza"}, "test_mode_compatibility_level"},
		// The order of checks: the VIN before the scope.
		{VINQuery{VIN: "short", Scope: "nope"}, "vin"},
	}
	for _, tt := range tests {
		_, err := tab.CheckVIN(tt.q)
		var inv *Invalid
		if !errors.As(err, &inv) || inv.Field != tt.field {
			t.Errorf("CheckVIN(%+v) = %v; want a refusal of %s", tt.q, err, tt.field)
		}
	}
	_, err := tab.CheckVIN(VINQuery{VIN: "5YJ3E1EA7KF317000", Scope: "read_odometer", Mode: "test"})
	if want := "Field must be one of: [compatible,phev,incompatible,fuel,dinosaur,bev]"; err.(*Invalid).Message != want {
		t.Errorf("level message %q, want Smartcar's %q", err.(*Invalid).Message, want)
	}
}

func TestMatrix(t *testing.T) {
	tab := New(testCatalog())
	m, err := tab.Matrix(MatrixQuery{Region: "US", Make: "NISSAN tesla", Type: "bev", Scope: "read_battery read_charge"})
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, []string{"NISSAN", "TESLA"}) {
		t.Fatalf("makes %v", got)
	}
	if len(m["TESLA"]) != 4 || m["NISSAN"][0].Model != "LEAF" {
		t.Errorf("models: %+v", m)
	}
	for _, e := range m["TESLA"] {
		if e.Type != BEV || !slices.Equal(e.Permissions, []string{"read_battery", "read_charge"}) ||
			!slices.Equal(e.Endpoints, []string{"EV battery", "EV charging status"}) {
			t.Errorf("entry %+v", e)
		}
	}

	// No filter: every make and model of the table, features sorted by name.
	all, err := tab.Matrix(MatrixQuery{Region: "EUROPE"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mk := range Makes() {
		n += len(mk.Models)
		if len(all[mk.Make]) != len(mk.Models) {
			t.Errorf("%s: %d entries, %d models", mk.Make, len(all[mk.Make]), len(mk.Models))
		}
	}
	leaf := all["NISSAN"][0]
	if want := []string{"EV battery", "EV charging status", "Location", "Lock & unlock", "Odometer", "Vehicle info"}; !slices.Equal(leaf.Endpoints, want) {
		t.Errorf("LEAF endpoints %v, want %v", leaf.Endpoints, want)
	}
	if want := []string{"read_battery", "read_charge", "read_location", "control_security", "read_odometer", "read_vehicle_info"}; !slices.Equal(leaf.Permissions, want) {
		t.Errorf("LEAF permissions %v, want %v", leaf.Permissions, want)
	}

	// A scope a model cannot serve whole leaves it out; ICE has no EV battery.
	ice, _ := tab.Matrix(MatrixQuery{Region: "CA", Type: "ICE", Scope: "read_battery"})
	if len(ice) != 0 {
		t.Errorf("ICE with read_battery: %v", ice)
	}
	hev, _ := tab.Matrix(MatrixQuery{Region: "US", Type: "HEV"})
	if len(hev) != 0 {
		t.Errorf("HEV: %v (the table has none)", hev)
	}

	for _, tt := range []struct {
		q     MatrixQuery
		field string
	}{
		{MatrixQuery{}, "region"},
		{MatrixQuery{Region: "undefined"}, "region"},
		{MatrixQuery{Region: "ASIA"}, "region"},
		{MatrixQuery{Region: "US", Type: "EV"}, "type"},
		{MatrixQuery{Region: "US", Make: "TESLA DELOREAN"}, "make"},
		{MatrixQuery{Region: "US", Scope: "read_batery"}, "scope"},
		{MatrixQuery{Region: "US", Mode: "demo"}, "mode"},
	} {
		_, err := tab.Matrix(tt.q)
		var inv *Invalid
		if !errors.As(err, &inv) || inv.Field != tt.field {
			t.Errorf("Matrix(%+v) = %v; want a refusal of %s", tt.q, err, tt.field)
		}
	}
}

// Any parameters get an answer or a refusal of one field, never a panic (no input may
// become a 500).
func FuzzCompatibility(f *testing.F) {
	f.Add("5YJXCDE22HF068739", "read_odometer read_fuel", "US", "", "", "US", "TESLA", "BEV")
	f.Add("0SCAUDI037A5ADB1C", "read_battery", "de", "test", "fuel", "europe", "audi bmw", "")
	f.Add("wauafafl1gn014882", "", "", "simulated", "", "", "", "HEV")
	tab := New(testCatalog())
	f.Fuzz(func(t *testing.T, vin, scope, country, mode, level, region, mk, typ string) {
		for _, err := range []error{
			func() error { _, err := tab.CheckVIN(VINQuery{vin, scope, country, mode, level}); return err }(),
			func() error { _, err := tab.Matrix(MatrixQuery{region, scope, mk, typ, mode}); return err }(),
		} {
			var inv *Invalid
			if err != nil && (!errors.As(err, &inv) || inv.Field == "") {
				t.Fatalf("error %v is not a refusal of a field", err)
			}
		}
	})
}
