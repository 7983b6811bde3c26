// Package control is the sandbox's control surface: a JSON API under /__sandbox/api/
// for tests in any language (in the spirit of WireMock's /__admin API) and the console,
// a server-rendered page under /__sandbox/ to watch and steer the simulated vehicles,
// the clock, the request journal and the scripted faults. Both work on a Backend, the
// sandbox itself; this package knows HTTP, JSON and HTML, not how vehicles work.
package control

import (
	"errors"
	"time"

	"smartcargo/internal/sandbox/faults"
	"smartcargo/internal/sandbox/journal"
	"smartcargo/internal/sandbox/webhooks"
)

// Backend is what the control surface needs from the sandbox. Methods are safe for
// concurrent use.
type Backend interface {
	// Now is the sandbox's clock; Advance moves it (and every simulation) ahead.
	Now() time.Time
	Advance(d time.Duration) time.Time
	// Vehicles lists every connected vehicle, Vehicle one of them (ErrNotFound).
	Vehicles() []Vehicle
	Vehicle(id string) (Vehicle, error)
	// PatchVehicle changes a simulated vehicle: ErrNotFound, an *InputError for a
	// value that does not fit, ErrNotSimulated for a test-mode vehicle's simulation
	// fields.
	PatchVehicle(id string, p Patch) (Vehicle, error)
	// History samples a vehicle's battery, fuel and odometer over the span up to now.
	History(id string, span time.Duration, points int) ([]Point, error)
	// Profiles are the trip profiles a simulated vehicle can run.
	Profiles() []Profile
	// ExpireTokens makes the access tokens of a vehicle (vehicleID) or one access
	// token expire now, and returns how many did; the refresh tokens keep working.
	ExpireTokens(vehicleID, accessToken string) (int, error)
	// RevokeTokens forgets every access and refresh token of the approvals that reach
	// the vehicle, as when the user withdraws the app's access: API calls with them
	// get 401 AUTHENTICATION, refreshes invalid_grant. It returns how many it forgot
	// (ErrNotFound for an unknown vehicle).
	RevokeTokens(vehicleID string) (int, error)
	Clients() []Client
	Users() []User
	Journal() *journal.Journal
	Faults() *faults.Set
	// ErrorTypes maps Smartcar's error types to their HTTP status, for faults.
	ErrorTypes() map[string]int
	// Paging is how the v2 lists page; SetPaging changes it (checked by the caller).
	Paging() Paging
	SetPaging(p Paging)
	// Webhooks is the webhook sender: its webhooks, deliveries and deliver-now.
	Webhooks() *webhooks.Sender
}

// PageLimits are one list's page sizes: DefaultLimit when the call sends no limit,
// MaxLimit the most a page holds (a larger limit is capped, not refused).
type PageLimits struct {
	DefaultLimit int `json:"defaultLimit"`
	MaxLimit     int `json:"maxLimit"`
}

// Paging is the page sizes of the v2 lists: GET /v2.0/vehicles and
// GET /v2.0/vehicles/{id}/permissions.
type Paging struct {
	Vehicles    PageLimits `json:"vehicles"`
	Permissions PageLimits `json:"permissions"`
}

// Location is a position.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Vehicle is one connected vehicle as the control API shows it; a field that does not
// apply (a test-mode vehicle's stage, an electric car's fuel) is null.
type Vehicle struct {
	ID             string    `json:"id"`
	VIN            string    `json:"vin"`
	Make           string    `json:"make"`
	Model          string    `json:"model"`
	Year           int       `json:"year"`
	Mode           string    `json:"mode"` // "test" or "simulated"
	Powertrain     string    `json:"powertrain"`
	Stage          *string   `json:"stage"`
	PluggedIn      *bool     `json:"pluggedIn"`
	Locked         *bool     `json:"locked"`
	OdometerKm     *float64  `json:"odometerKm"`
	BatteryPercent *float64  `json:"batteryPercent"` // 0–100
	FuelPercent    *float64  `json:"fuelPercent"`    // 0–100
	ChargeLimit    *float64  `json:"chargeLimit"`    // fraction, as Smartcar's API
	ChargeState    *string   `json:"chargeState"`
	SpeedKmh       *float64  `json:"speedKmh"`
	Location       *Location `json:"location"`
	Profile        *string   `json:"profile"` // the running trip profile
	// ReportedAt is when the vehicle last reported (the API's sc-data-age).
	ReportedAt *time.Time `json:"reportedAt"`
	Email      string     `json:"email"` // the Connect login it came from
}

// Patch is a change to a simulated vehicle; nil fields stay as they are.
type Patch struct {
	Stage          *string   `json:"stage"`
	PluggedIn      *bool     `json:"pluggedIn"`
	Locked         *bool     `json:"locked"`
	BatteryPercent *float64  `json:"batteryPercent"`
	FuelPercent    *float64  `json:"fuelPercent"`
	OdometerKm     *float64  `json:"odometerKm"`
	ChargeLimit    *float64  `json:"chargeLimit"`
	SpeedKmh       *float64  `json:"speedKmh"`
	Location       *Location `json:"location"`
	// Profile starts a trip profile by name; "" stops the running one.
	Profile *string `json:"profile"`
}

// Point is one sample of a vehicle's history.
type Point struct {
	At             time.Time `json:"time"`
	BatteryPercent *float64  `json:"batteryPercent"`
	FuelPercent    *float64  `json:"fuelPercent"`
	OdometerKm     float64   `json:"odometerKm"`
	Stage          string    `json:"stage"`
}

// Profile is a trip profile.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Client is a registered app (without its secret), with its application
// management token (the console is the sandbox's dashboard).
type Client struct {
	ID              string   `json:"id"`
	RedirectURIs    []string `json:"redirectUris"`
	ManagementToken string   `json:"managementToken"`
}

// User is one Connect approval: a login's grant to an app.
type User struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	ClientID    string    `json:"clientId"`
	Mode        string    `json:"mode"`
	Scopes      []string  `json:"scopes"`
	VehicleIDs  []string  `json:"vehicleIds"`
	ConnectedAt time.Time `json:"connectedAt"`
}

var (
	// ErrNotFound is a vehicle (or journal entry, fault) that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotSimulated is a simulation change asked of a test-mode vehicle.
	ErrNotSimulated = errors.New("this vehicle is in test mode, which answers random data: connect with mode=simulated to steer it")
)

// InputError is a value that does not fit; Field names it.
type InputError struct {
	Field, Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}
