package web

import (
	"slices"
	"testing"
)

// TestDashboardTable checks the rows against each other: what one row gets wrong
// (a key twice, an item read twice in the batch, a permission without words) would
// otherwise show only on some vehicle's page.
func TestDashboardTable(t *testing.T) {
	keys := map[string]bool{}
	headers := 0
	for _, row := range dashboardTiles {
		if row.key == "" || row.title == "" || row.scope == "" || row.words == "" || len(row.v2.paths) == 0 ||
			row.v2.read == nil || len(row.v3.codes) == 0 || row.v3.read == nil || row.show == nil {
			t.Errorf("row %q is incomplete: %+v", row.key, row)
		}
		if keys[row.key] {
			t.Errorf("key %q twice", row.key)
		}
		keys[row.key] = true
		if row.header {
			headers++
		}
	}
	if headers != 1 {
		t.Errorf("%d header tiles, want 1 (the VIN)", headers)
	}
	for name, paths := range map[string][]string{"dashboard": dashboardPaths, "glance": glancePaths} {
		sorted := slices.Clone(paths)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(paths) {
			t.Errorf("%s batch reads an item twice: %v", name, paths)
		}
	}
}
