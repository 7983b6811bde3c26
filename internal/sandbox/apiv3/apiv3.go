// Package apiv3 is the sandbox's Smartcar API v3, mounted at /v3 on the sandbox's one
// origin: the vehicle resource, its signals and its commands. It owns the wire format
// (JSON:API-style resources, per-signal statuses, paging, command executions, the v3
// error body); the sandbox behind Backend owns the credentials, the vehicles and their
// state, the same state its v2.0 API reads, so both versions agree.
//
// Shapes follow the official SDKs first (their e2e suites run against Smartcar), then
// Smartcar's API reference, then payloads recorded from the live API; docs/sandbox.md
// lists every choice made where they disagree or are silent.
package apiv3

import (
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
)

// Backend is the sandbox as the v3 API sees it.
type Backend interface {
	// Authorize checks the request's credentials for the vehicle of the path: a
	// per-vehicle access token from Connect (sc-user-id optional), or an application
	// token with the sc-user-id of a user who connected that vehicle to that app. It
	// returns an *Error when they do not cover the vehicle.
	Authorize(r *http.Request, vehicleID string) (*Vehicle, error)
	// State reads the vehicle at the request's instant (one instant for every signal
	// of the request), or returns the vehicle's *Error (an error account).
	State(r *http.Request, v *Vehicle) (*State, error)
	// Command acts on the vehicle, as the v2 command would, and reports how long the
	// command still runs after answering (0: it completed). Refusals are *Error.
	Command(r *http.Request, v *Vehicle, c Command) (time.Duration, error)
	// Error is the sandbox's error of a type and code ("" for null), with its texts.
	Error(typ, code string) *Error
	// RequestID is the request's sc-request-id.
	RequestID(r *http.Request) string
	// Now is the sandbox's time.
	Now() time.Time
}

// Vehicle is a vehicle as one authorized request sees it.
type Vehicle struct {
	ID, Make, Model string
	Year            int
	// PowertrainType is BEV, PHEV or ICE; Mode is test or simulated.
	PowertrainType, Mode string
	// Permissions are the ones the user granted the app for this vehicle.
	Permissions []string
	// Battery and Fuel say whether the vehicle has a traction battery and a fuel tank;
	// an Incompatible vehicle serves no signal at all.
	Battery, Fuel, Incompatible bool
	// Ref is the backend's own handle on the vehicle, for State and Command.
	Ref any
}

func (v *Vehicle) has(permission string) bool { return slices.Contains(v.Permissions, permission) }

// feature is what a signal or command needs of the vehicle beyond a permission.
type feature int

const (
	anyVehicle feature = iota
	needsBattery
	needsFuel
)

func (v *Vehicle) capable(f feature) bool {
	switch {
	case v.Incompatible:
		return false
	case f == needsBattery:
		return v.Battery
	case f == needsFuel:
		return v.Fuel
	}
	return true
}

// State is a vehicle at one instant, in metric units; the signals are cut from it.
type State struct {
	// RetrievedAt is when the sandbox read the vehicle, ReportedAt when the vehicle
	// recorded the data (a signal's retrievedAt and oemUpdatedAt).
	RetrievedAt, ReportedAt time.Time

	VIN        string
	OdometerKm float64

	Latitude, Longitude float64
	Heading             float64 // degrees clockwise from north
	Moving              bool

	BatteryPercent, BatteryRangeKm, CapacityKWh float64
	PluggedIn                                   bool
	ChargeState                                 string // CHARGING, FULLY_CHARGED or NOT_CHARGING
	ChargeLimitPercent                          float64

	FuelPercent, FuelLitres, FuelRangeKm float64
	OilLifePercent                       float64

	Locked bool
	// Doors, windows and tyres in the order front left, front right, back left, back
	// right.
	DoorsOpen, WindowsOpen                     [4]bool
	SunroofOpen, FrontTrunkOpen, RearTrunkOpen bool
	TiresKPa                                   [4]float64
}

// Command types, as the command-execution body names them.
const (
	CommandLock           = "security-lock"
	CommandUnlock         = "security-unlock"
	CommandStartCharge    = "charge-start"
	CommandStopCharge     = "charge-stop"
	CommandSetChargeLimit = "charge-set-limit"
)

// Command is one command to a vehicle.
type Command struct {
	Type string
	// LimitPercent is charge-set-limit's percent, in (0, 100].
	LimitPercent float64
}

// Handler serves /v3. Mount it there: its routes are relative to /v3.
type Handler struct {
	b     Backend
	mux   chi.Router
	execs *executions
}

// New returns the v3 API on b.
func New(b Backend) *Handler {
	h := &Handler{b: b, execs: newExecutions(maxExecutions)}
	r := chi.NewRouter()
	r.NotFound(h.notFound)
	r.MethodNotAllowed(h.notFound)
	r.Route("/vehicles/{vehicleID}", func(r chi.Router) {
		r.Get("/", h.handle(h.getVehicle))
		r.Get("/signals", h.handle(h.listSignals))
		r.Get("/signals/{code}", h.handle(h.getSignal))
		r.Post("/commands/security/lock", h.handle(h.command(CommandLock)))
		r.Post("/commands/security/unlock", h.handle(h.command(CommandUnlock)))
		r.Post("/commands/charge/start", h.handle(h.command(CommandStartCharge)))
		r.Post("/commands/charge/stop", h.handle(h.command(CommandStopCharge)))
		r.Post("/commands/charge/set-limit", h.handle(h.command(CommandSetChargeLimit)))
		r.Get("/command-executions/{executionID}", h.handle(h.getExecution))
	})
	h.mux = r
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// handler answers with a status and a body, or an error.
type handler func(w http.ResponseWriter, r *http.Request, v *Vehicle) (int, any, error)

// handle authorizes the vehicle of the path, runs h and writes its answer.
func (h *Handler) handle(f handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h.b.Authorize(r, chi.URLParam(r, "vehicleID"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		status, body, err := f(w, r, v)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, status, body)
	}
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, h.b.Error("RESOURCE_NOT_FOUND", "PATH"))
}

// origin is the scheme and host the request came to, for absolute links.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// vehicleURL is the vehicle resource's absolute address.
func vehicleURL(r *http.Request, id string) string { return origin(r) + "/v3/vehicles/" + id }

// vehicleResource is GET /v3/vehicles/{id}, and the list's included vehicle.
type vehicleResource struct {
	ID         string            `json:"id"`
	Type       string            `json:"type"`
	Attributes vehicleAttributes `json:"attributes"`
	Links      selfLink          `json:"links"`
}

type vehicleAttributes struct {
	Make           string `json:"make"`
	Model          string `json:"model"`
	Year           int    `json:"year"`
	PowertrainType string `json:"powertrainType"`
	Mode           string `json:"mode"`
}

type selfLink struct {
	Self string `json:"self"`
}

func resourceOf(r *http.Request, v *Vehicle) vehicleResource {
	return vehicleResource{ID: v.ID, Type: "vehicle",
		Attributes: vehicleAttributes{Make: v.Make, Model: v.Model, Year: v.Year, PowertrainType: v.PowertrainType, Mode: v.Mode},
		Links:      selfLink{Self: vehicleURL(r, v.ID)}}
}

// vehicleDocument is the vehicle at the top level, where the official SDKs read it
// (Node's getVehicle returns the body as is, Java reads the root's attributes), and
// again under data, where Smartcar's API reference shows it.
type vehicleDocument struct {
	vehicleResource
	Data vehicleResource `json:"data"`
}

func (h *Handler) getVehicle(w http.ResponseWriter, r *http.Request, v *Vehicle) (int, any, error) {
	res := resourceOf(r, v)
	return http.StatusOK, vehicleDocument{vehicleResource: res, Data: res}, nil
}
