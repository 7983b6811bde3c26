package sandbox

import (
	"time"

	"smartcargo/internal/sandbox/control"
)

// Connect modes the sandbox serves.
const (
	modeTest      = "test"
	modeSimulated = "simulated"
)

// (stubs until the simulation lands)
func (s *server) simulate(vs []*vehicle)                        {}
func (s *server) simView(v *vehicle, out *control.Vehicle) bool { return false }
func (s *server) patchSim(v *vehicle, p control.Patch) error    { return control.ErrNotSimulated }
func (s *server) simHistory(id string, span time.Duration, n int) ([]control.Point, error) {
	return nil, control.ErrNotSimulated
}
func simProfiles() []control.Profile             { return nil }
func (s *server) simState(id string) (any, bool) { return nil, false }
