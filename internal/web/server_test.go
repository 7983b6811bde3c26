package web

import (
	"strings"
	"testing"

	"smartcargo/internal/smartcar"
	"smartcargo/static"
	"smartcargo/templates"
)

// TestNewServerAPIVersion: the two versions the app knows, empty for 2.0, and nothing
// else.
func TestNewServerAPIVersion(t *testing.T) {
	opts := func(version string) Options {
		return Options{
			Smartcar:    smartcar.Config{ClientID: "c", ClientSecret: "s", RedirectURL: "http://127.0.0.1/exchange"},
			APIVersion:  version,
			Store:       newTestStore(t),
			SessionKeys: [][]byte{randomKey(32), randomKey(32)},
			Templates:   templates.FS,
			Static:      static.FS,
		}
	}
	for _, v := range []string{"", APIVersion2, APIVersion3} {
		if _, err := NewServer(opts(v)); err != nil {
			t.Errorf("APIVersion %q: %v", v, err)
		}
	}
	for _, v := range []string{"2", "v3", "3.0"} {
		_, err := NewServer(opts(v))
		if err == nil || !strings.Contains(err.Error(), `Options.APIVersion "`+v+`"`) {
			t.Errorf("APIVersion %q: err = %v, want it refused", v, err)
		}
	}
}
