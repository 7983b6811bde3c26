package sandbox

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"smartcargo/internal/sandbox/control"
	"smartcargo/internal/sandbox/faults"
	"smartcargo/internal/sandbox/journal"
	"smartcargo/internal/sandbox/webhooks"
)

// backend is the sandbox as the control surface sees it (control.Backend).
type backend struct{ s *server }

var _ control.Backend = backend{}

func (b backend) Now() time.Time             { return b.s.clock.Now() }
func (b backend) Webhooks() *webhooks.Sender { return b.s.hooks }

// Advance moves the clock, then lets the webhook sender see what changed and which
// retries came due.
func (b backend) Advance(d time.Duration) time.Time {
	t := b.s.clock.Advance(d)
	b.s.hooks.Evaluate()
	return t
}
func (b backend) Journal() *journal.Journal   { return b.s.journal }
func (b backend) Faults() *faults.Set         { return b.s.faults }
func (b backend) ErrorTypes() map[string]int  { return errorTypes() }
func (b backend) Profiles() []control.Profile { return simProfiles() }
func (b backend) Paging() control.Paging      { return b.s.paging.get() }
func (b backend) SetPaging(p control.Paging)  { b.s.paging.set(p) }

// connected lists each vehicle of the latest approvals once (the newest approval's
// email names it), with the approval's mode.
func (b backend) connected() []connectedVehicle {
	seen := map[string]bool{}
	var out []connectedVehicle
	for _, g := range b.s.store.latestGrants() {
		for _, v := range g.Vehicles {
			if !seen[v.ID] {
				seen[v.ID] = true
				out = append(out, connectedVehicle{v: v, g: g})
			}
		}
	}
	return out
}

type connectedVehicle struct {
	v *vehicle
	g *grant
}

func (b backend) find(id string) (connectedVehicle, error) {
	id = strings.ToLower(id)
	for _, cv := range b.connected() {
		if cv.v.ID == id {
			return cv, nil
		}
	}
	return connectedVehicle{}, fmt.Errorf("vehicle %q: %w", id, control.ErrNotFound)
}

func (b backend) Vehicles() []control.Vehicle {
	cvs := b.connected()
	out := make([]control.Vehicle, 0, len(cvs))
	for _, cv := range cvs {
		out = append(out, b.view(cv))
	}
	return out
}

func (b backend) Vehicle(id string) (control.Vehicle, error) {
	cv, err := b.find(id)
	if err != nil {
		return control.Vehicle{}, err
	}
	return b.view(cv), nil
}

// view is a vehicle as the control API shows it: a simulated one from its simulation,
// a test-mode one with only what commands left on it (the rest is random per read).
func (b backend) view(cv connectedVehicle) control.Vehicle {
	v := cv.v
	out := control.Vehicle{ID: v.ID, VIN: v.VIN, Make: v.Make, Model: v.Model, Year: v.Year, Mode: modeTest,
		Powertrain: v.Powertrain, Email: cv.g.Email}
	if b.s.simView(v, &out) {
		out.Mode = modeSimulated
		return out
	}
	if locked, ok := b.s.store.lockState(v.ID); ok {
		out.Locked = &locked
	}
	if v.capable(featureBattery) {
		if limit, ok := b.s.store.chargeLimit(v.ID); ok {
			out.ChargeLimit = &limit
		}
	}
	return out
}

func (b backend) PatchVehicle(id string, p control.Patch) (control.Vehicle, error) {
	cv, err := b.find(id)
	if err != nil {
		return control.Vehicle{}, err
	}
	if b.s.isSimulated(cv.v.ID) {
		if err := b.s.patchSim(cv.v, p); err != nil {
			return control.Vehicle{}, err
		}
		b.s.hooks.Evaluate(cv.v.ID)
		return b.view(cv), nil
	}
	// A test-mode vehicle keeps only what commands leave: its locks and charge limit.
	if p.Stage != nil || p.PluggedIn != nil || p.BatteryPercent != nil || p.FuelPercent != nil ||
		p.OdometerKm != nil || p.SpeedKmh != nil || p.Location != nil || p.Profile != nil {
		return control.Vehicle{}, control.ErrNotSimulated
	}
	if p.ChargeLimit != nil {
		if !cv.v.capable(featureBattery) {
			return control.Vehicle{}, &control.InputError{Field: "chargeLimit", Reason: "this vehicle has no battery"}
		}
		if l := *p.ChargeLimit; !(l > 0 && l <= 1) {
			return control.Vehicle{}, &control.InputError{Field: "chargeLimit", Reason: "want a fraction greater than 0 and at most 1 (0.8 is 80 %)"}
		}
		b.s.store.setChargeLimit(cv.v.ID, *p.ChargeLimit)
	}
	if p.Locked != nil {
		b.s.store.setLockState(cv.v.ID, *p.Locked)
	}
	return b.view(cv), nil
}

func (b backend) History(id string, span time.Duration, points int) ([]control.Point, error) {
	cv, err := b.find(id)
	if err != nil {
		return nil, err
	}
	return b.s.simHistory(cv.v.ID, span, points)
}

func (b backend) ExpireTokens(vehicleID, accessToken string) (int, error) {
	if vehicleID != "" {
		cv, err := b.find(vehicleID)
		if err != nil {
			return 0, err
		}
		vehicleID = cv.v.ID
	}
	n := b.s.store.expireAccess(vehicleID, accessToken, b.s.now())
	if n == 0 && accessToken != "" {
		return 0, fmt.Errorf("no live access token like that: %w", control.ErrNotFound)
	}
	return n, nil
}

func (b backend) Clients() []control.Client {
	out := make([]control.Client, 0, len(b.s.clients))
	for _, c := range b.s.clients {
		out = append(out, control.Client{ID: c.ID, RedirectURIs: slices.Clone(c.RedirectURIs), ManagementToken: b.s.amtOf(c.ID)})
	}
	slices.SortFunc(out, func(a, b control.Client) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (b backend) Users() []control.User {
	gs := b.s.store.latestGrants()
	out := make([]control.User, 0, len(gs))
	for _, g := range gs {
		ids := make([]string, 0, len(g.Vehicles))
		for _, v := range g.Vehicles {
			ids = append(ids, v.ID)
		}
		out = append(out, control.User{ID: g.UserID, Email: g.Email, ClientID: g.ClientID, Mode: g.Mode,
			Scopes: slices.Clone(g.Scopes), VehicleIDs: ids, ConnectedAt: g.Created})
	}
	return out
}
