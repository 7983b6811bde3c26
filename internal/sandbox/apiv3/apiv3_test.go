package apiv3

import (
	"slices"
	"testing"
)

func TestCatalogSortedUnique(t *testing.T) {
	codes := Codes()
	if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Errorf("catalog codes not sorted or not unique: %v", codes)
	}
	for _, want := range []string{"odometer-traveleddistance", "location-preciselocation", "tractionbattery-stateofcharge",
		"tractionbattery-range", "internalcombustionengine-fuellevel", "internalcombustionengine-amountremaining",
		"internalcombustionengine-range", "closure-islocked", "closure-doors", "closure-windows", "charge-ischarging",
		"charge-ischargingcableconnected", "charge-chargelimits"} {
		if _, ok := findSignal(want); !ok {
			t.Errorf("%s missing from the catalog", want)
		}
	}
	for _, d := range catalog {
		if d.permission == "" || d.name == "" || d.group == "" || d.body == nil {
			t.Errorf("%s: incomplete definition", d.code)
		}
	}
}

func TestDirection(t *testing.T) {
	for h, want := range map[float64]string{0: "N", 22: "N", 23: "NE", 90: "E", 180: "S", 269: "W", 338: "N", 359.9: "N", -45: "NW", 720: "N"} {
		if got := direction(h); got != want {
			t.Errorf("direction(%v) = %s, want %s", h, got, want)
		}
	}
}

func TestTitleAndDocURL(t *testing.T) {
	if got := title("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"); got != "Vehicle Not Capable" {
		t.Errorf("title %q", got)
	}
	if got := title("PERMISSION", ""); got != "Permission" {
		t.Errorf("title of a null code %q", got)
	}
	if got := DocURL("VEHICLE_STATE", "IN_MOTION"); got != "https://smartcar.com/docs/errors/api-errors/v3/vehicle-state-errors#in_motion" {
		t.Errorf("docURL %q", got)
	}
}
