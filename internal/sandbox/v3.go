package sandbox

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"smartcargo/internal/sandbox/apiv3"
	"smartcargo/internal/sandbox/sim"
)

// The v3 API (internal/sandbox/apiv3) reads and commands the same vehicles as v2.0,
// through v3Backend. It accepts two kinds of credentials: a per-vehicle access token
// from Connect (what the Node SDK's v3 calls send), and Smartcar's v3 model, an
// application token from POST /oauth2/token (client_credentials) with the sc-user-id
// of a user who connected the vehicle to that app.

// appTokenLifetime is how long an application token lives (Smartcar: one hour).
const appTokenLifetime = time.Hour

// appToken is an issued application token: it names its app, no user or vehicle.
type appToken struct {
	ClientID string    `json:"clientId"`
	Expires  time.Time `json:"expires"`
}

// issueAppToken creates an application token for a client.
func (s *store) issueAppToken(clientID string, now time.Time) string {
	tok := newID()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.appTokens) >= 1024 {
		for k, t := range s.appTokens {
			if !now.Before(t.Expires) {
				delete(s.appTokens, k)
			}
		}
	}
	s.appTokens[tok] = &appToken{ClientID: clientID, Expires: now.Add(appTokenLifetime)}
	return tok
}

// lookupAppToken returns the client of a live application token.
func (s *store) lookupAppToken(token string, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.appTokens[token]
	if !ok || !now.Before(t.Expires) {
		return "", false
	}
	return t.ClientID, true
}

// userVehicle finds the latest approval in which this user connected this vehicle to
// this app and has not disconnected it.
func (s *store) userVehicle(clientID, userID, vehicleID string) (*grant, *vehicle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *grant
	var fv *vehicle
	for _, g := range s.grants {
		if g.ClientID != clientID || g.UserID != userID || g.revoked[vehicleID] {
			continue
		}
		i := slices.IndexFunc(g.Vehicles, func(v *vehicle) bool { return v.ID == vehicleID })
		if i >= 0 && (found == nil || g.Created.After(found.Created)) {
			found, fv = g, g.Vehicles[i]
		}
	}
	return found, fv, found != nil
}

// appTokenResponse is POST /oauth2/token's answer: no refresh token, ask again.
type appTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// handleAppToken is POST /oauth2/token, the v3 application token: grant_type
// client_credentials, the client authenticated by Basic or form fields, as at
// /oauth/token (whose grants it does not take).
func (s *server) handleAppToken(w http.ResponseWriter, r *http.Request) {
	resp, err := s.appToken(w, r)
	s.writeToken(w, r, resp, err)
}

func (s *server) appToken(w http.ResponseWriter, r *http.Request) (any, error) {
	client, err := s.tokenClient(w, r)
	if err != nil {
		return nil, err
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return nil, &oauthError{http.StatusBadRequest, "invalid_request", "Missing grant_type."}
	default:
		return nil, &oauthError{http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type: " + gt + "."}
	}
	return appTokenResponse{AccessToken: s.store.issueAppToken(client.ID, s.now()), TokenType: "Bearer",
		ExpiresIn: int(appTokenLifetime / time.Second)}, nil
}

// isV3Path tells v3 API requests, whose errors have the v3 shape.
func isV3Path(p string) bool { return p == "/v3" || strings.HasPrefix(p, "/v3/") }

// v3Error turns a sandbox error into the v3 API's; anything else passes through.
func v3Error(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	return toV3(ae)
}

func toV3(ae *apiError) *apiv3.Error {
	e := &apiv3.Error{Status: ae.Status, Type: ae.Type, Code: ae.Code, Description: ae.Description,
		Resolution: ae.Resolution, Suggested: ae.Suggested, RetryAfter: ae.RetryAfter}
	for _, d := range ae.Detail {
		e.Detail = append(e.Detail, apiv3.Detail{Field: d.Field, Message: d.Message})
	}
	return e
}

// defaultCommandRunning is how long a command a 202 fault scripts keeps running when
// the fault gives no delay.
const defaultCommandRunning = 30 * time.Second

// commandRunningKey marks a v3 command that a scripted 202 fault keeps running.
type commandRunningKey struct{}

// v3Backend is the sandbox as its v3 API sees it (apiv3.Backend).
type v3Backend struct{ s *server }

var _ apiv3.Backend = v3Backend{}

// v3Ref is the vehicle and the approval a v3 request reaches it through.
type v3Ref struct {
	g *grant
	v *vehicle
}

func (b v3Backend) Error(typ, code string) *apiv3.Error { return toV3(newAPIError(typ, code)) }
func (b v3Backend) RequestID(r *http.Request) string    { return requestID(r.Context()) }
func (b v3Backend) Now() time.Time                      { return b.s.now() }

// Authorize accepts a Connect access token that was granted the vehicle (as v2.0
// does: 401 otherwise; an sc-user-id, if sent, must be its user's), or an application
// token with the sc-user-id of a user who connected the vehicle to that app (400
// without the header, 403 PERMISSION when that user did not connect it to that app).
func (b v3Backend) Authorize(r *http.Request, id string) (*apiv3.Vehicle, error) {
	s := b.s
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, toV3(errAuthentication())
	}
	user := strings.TrimSpace(r.Header.Get("sc-user-id"))
	n, now := note(r.Context()), s.now()
	g, connect := s.store.lookupAccess(token, now)
	app := ""
	if connect {
		n.clientID = g.ClientID
		if user != "" && user != g.UserID {
			return nil, toV3(errAuthentication())
		}
	} else if client, ok := s.store.lookupAppToken(token, now); ok {
		n.clientID, app = client, client
	} else {
		return nil, toV3(errAuthentication())
	}
	n.vehicleID = strings.ToLower(id)
	if !isUUID(id) {
		return nil, toV3(errValidation("vehicle_id", "vehicle_id must be a UUID"))
	}
	id = strings.ToLower(id)
	var v *vehicle
	var ok bool
	if connect {
		if v, ok = s.store.grantedVehicle(g, id); !ok {
			return nil, toV3(errAuthentication())
		}
	} else {
		if user == "" {
			return nil, toV3(errValidation("sc-user-id", "an application token needs the sc-user-id header of the user who connected the vehicle"))
		}
		if g, v, ok = s.store.userVehicle(app, user, id); !ok {
			return nil, toV3(errPermission())
		}
	}
	return b.vehicleOf(g, v), nil
}

// vehicleOf is the vehicle as the v3 API sees it through an approval.
func (b v3Backend) vehicleOf(g *grant, v *vehicle) *apiv3.Vehicle {
	battery, fuel := v.capable(featureBattery), v.capable(featureFuel)
	pt := v.Powertrain
	switch {
	case battery && fuel:
		pt = powertrainPHEV
	case battery:
		pt = powertrainBEV
	case fuel:
		pt = powertrainICE
	}
	mode := modeTest
	if b.s.isSimulated(v.ID) {
		mode = modeSimulated
	}
	return &apiv3.Vehicle{ID: v.ID, Make: v.Make, Model: v.Model, Year: v.Year, PowertrainType: pt, Mode: mode,
		Permissions: slices.Clone(g.Scopes), Battery: battery, Fuel: fuel, Incompatible: !v.capable(featureNone),
		Ref: v3Ref{g: g, v: v}}
}

// callOf is the v3 request as a v2 call: the same vehicle, approval and instant.
func (b v3Backend) callOf(r *http.Request, av *apiv3.Vehicle) *call {
	in, r := b.s.instantOf(r)
	c := b.callAt(av, in)
	c.r = r
	return c
}

// callAt is a read of the vehicle at an instant, outside any request (webhooks).
func (b v3Backend) callAt(av *apiv3.Vehicle, in instant) *call {
	ref := av.Ref.(v3Ref)
	return &call{s: b.s, v: ref.v, g: ref.g, units: unitsMetric, now: in.now, simNow: in.sim}
}

// State reads the vehicle at the request's instant, from the values the v2 endpoints
// read: a simulated vehicle's reading (so v2 and v3 reads at one instant agree), or
// test mode's random data in the same ranges, with the lock state and charge limit
// commands left.
func (b v3Backend) State(r *http.Request, av *apiv3.Vehicle) (*apiv3.State, error) {
	return b.stateOf(b.callOf(r, av))
}

func (b v3Backend) stateOf(c *call) (*apiv3.State, error) {
	v, rnd := c.v, c.s.rnd
	if v.ErrType != "" {
		return nil, toV3(newAPIError(v.ErrType, v.ErrCode))
	}
	st := &apiv3.State{RetrievedAt: c.now, VIN: v.VIN, CapacityKWh: capacityOf(v)}
	if rd, ok := c.reading(); ok {
		var tank float64
		c.s.withSim(v.ID, func(s *sim.State) { tank = s.Spec.TankLitres })
		st.ReportedAt = c.reportedAt(rd)
		st.OdometerKm = rd.OdometerKm
		st.Latitude, st.Longitude, st.Heading = rd.Location.Latitude, rd.Location.Longitude, rd.Heading
		st.Moving = rd.Stage == sim.Driving
		st.BatteryPercent, st.BatteryRangeKm = rd.Battery*100, rd.RangeKm
		st.PluggedIn, st.ChargeState, st.ChargeLimitPercent = rd.PluggedIn, rd.ChargeState, rd.ChargeLimit*100
		st.FuelPercent, st.FuelLitres, st.FuelRangeKm = rd.Fuel*100, rd.Fuel*tank, rd.FuelRangeKm
		st.OilLifePercent = simOilLife(v) * 100
		st.Locked = rd.Locked // a simulated vehicle's openings stay shut
		st.TiresKPa = simTires(v)
		return st, nil
	}
	st.ReportedAt = c.now.Add(-time.Duration(rnd.IntN(300)) * time.Second)
	st.OdometerKm = rnd.between(10000, 300000, 1)
	st.Latitude, st.Longitude = rnd.between(37.0, 41.0, 6), rnd.between(-109.05, -102.05, 6)
	st.Heading = rnd.between(0, 360, 0)
	pct, full := rnd.between(0, 1, 2), 483.0
	if v.Powertrain == powertrainPHEV {
		full = 85
	}
	st.BatteryPercent, st.BatteryRangeKm = pct*100, pct*full
	st.PluggedIn, st.ChargeState = rnd.IntN(2) == 0, "NOT_CHARGING"
	if st.PluggedIn {
		st.ChargeState = []string{"CHARGING", "FULLY_CHARGED", "NOT_CHARGING"}[rnd.IntN(3)]
	}
	limit, ok := c.s.store.chargeLimit(v.ID)
	if !ok {
		limit = []float64{0.8, 0.85, 0.9, 1}[rnd.IntN(4)]
	}
	st.ChargeLimitPercent = limit * 100
	fuel := rnd.between(0, 1, 2)
	st.FuelPercent, st.FuelLitres, st.FuelRangeKm = fuel*100, fuel*float64(45+rnd.IntN(36)), fuel*483
	st.OilLifePercent = rnd.between(0, 1, 2) * 100
	if st.Locked, ok = c.s.store.lockState(v.ID); !ok {
		st.Locked = rnd.IntN(4) != 0
	}
	open := func() bool { return rnd.IntN(20) == 0 } // as v2's OPEN
	for i := range 4 {
		st.DoorsOpen[i], st.WindowsOpen[i] = open(), open()
		st.TiresKPa[i] = rnd.between(175, 237, 1)
	}
	st.SunroofOpen, st.FrontTrunkOpen, st.RearTrunkOpen = open(), open(), open()
	return st, nil
}

// Command acts as the v2 command does: on the simulation (which refuses as Smartcar
// does, e.g. VEHICLE_STATE/IN_MOTION), or on the test-mode vehicle's remembered lock
// state and charge limit. A scripted 202 fault keeps the command running for its time.
func (b v3Backend) Command(r *http.Request, av *apiv3.Vehicle, cmd apiv3.Command) (time.Duration, error) {
	c := b.callOf(r, av)
	if c.v.ErrType != "" {
		return 0, toV3(newAPIError(c.v.ErrType, c.v.ErrCode))
	}
	simulated := c.isSimulated()
	var err error
	switch cmd.Type {
	case apiv3.CommandLock, apiv3.CommandUnlock:
		lock := cmd.Type == apiv3.CommandLock
		if simulated {
			err = c.command(func(st *sim.State, now time.Time) error { return st.Lock(now, lock) })
		} else {
			c.s.store.setLockState(c.v.ID, lock)
		}
	case apiv3.CommandStartCharge, apiv3.CommandStopCharge:
		if simulated {
			err = c.command(func(st *sim.State, now time.Time) error {
				if cmd.Type == apiv3.CommandStartCharge {
					return st.StartCharge(now)
				}
				return st.StopCharge(now)
			})
		}
	case apiv3.CommandSetChargeLimit:
		limit := cmd.LimitPercent / 100
		if simulated {
			err = c.command(func(st *sim.State, now time.Time) error { return st.SetChargeLimit(now, limit) })
		} else {
			c.s.store.setChargeLimit(c.v.ID, limit)
		}
	default:
		return 0, toV3(errNotFound())
	}
	if err != nil {
		return 0, v3Error(err)
	}
	b.s.hooks.Evaluate(c.v.ID) // a command may change what subscribed webhooks carry
	running, _ := r.Context().Value(commandRunningKey{}).(time.Duration)
	return running, nil
}

// withCommandRunning marks the request's command as running for d after it answers.
func withCommandRunning(r *http.Request, d time.Duration) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), commandRunningKey{}, d))
}
