package apiv3

import (
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

// signalDef is one signal the sandbox serves: its code, name and group as Smartcar's
// signal schema spells them, the v2 permission that grants it, what the vehicle must
// have, and how its body is cut from the vehicle's state.
type signalDef struct {
	code, name, group string
	permission        string
	needs             feature
	body              func(s *State, u units) any
}

// Signal bodies.
type (
	measure struct {
		Value float64 `json:"value"`
		Unit  string  `json:"unit"`
	}
	flag struct {
		Value bool `json:"value"`
	}
	text struct {
		Value string `json:"value"`
	}
	opening struct {
		IsOpen bool `json:"isOpen"`
	}
	lockable struct {
		IsOpen   bool `json:"isOpen"`
		IsLocked bool `json:"isLocked"`
	}
	cell struct {
		Row    int `json:"row"`
		Column int `json:"column"`
	}
	door struct {
		cell
		IsOpen   bool `json:"isOpen"`
		IsLocked bool `json:"isLocked"`
	}
	window struct {
		cell
		IsOpen bool `json:"isOpen"`
	}
	tire struct {
		cell
		TirePressure float64 `json:"tirePressure"`
	}
	grid[T any] struct {
		Values      []T    `json:"values"`
		RowCount    int    `json:"rowCount"`
		ColumnCount int    `json:"columnCount"`
		Unit        string `json:"unit,omitempty"`
	}
	chargeLimits struct {
		Values      []chargeLimit `json:"values"`
		ActiveLimit float64       `json:"activeLimit"`
		Unit        string        `json:"unit"`
	}
	chargeLimit struct {
		Type  string  `json:"type"`
		Limit float64 `json:"limit"`
	}
	batteryRange struct {
		Value            float64   `json:"value"`
		Unit             string    `json:"unit"`
		Type             string    `json:"type"`
		AdditionalValues []measure `json:"additionalValues"`
	}
	capacity struct {
		Source              string              `json:"source"`
		Capacity            float64             `json:"capacity"`
		AvailableCapacities []availableCapacity `json:"availableCapacities"`
		Unit                string              `json:"unit"`
	}
	availableCapacity struct {
		Capacity    float64 `json:"capacity"`
		Description *string `json:"description"`
	}
	location struct {
		Latitude     float64 `json:"latitude"`
		Longitude    float64 `json:"longitude"`
		Heading      float64 `json:"heading"`
		Direction    string  `json:"direction"`
		LocationType string  `json:"locationType"`
	}
)

// corners are the rows and columns of the four doors, windows and tyres (front left,
// front right, back left, back right), as Smartcar's grids number them.
var corners = [4]cell{{0, 0}, {0, 1}, {1, 0}, {1, 1}}

// catalog is every signal the sandbox serves, sorted by code as Smartcar lists them.
var catalog = []signalDef{
	{"charge-chargelimits", "ChargeLimits", "Charge", "read_charge", needsBattery, func(s *State, _ units) any {
		p := round(s.ChargeLimitPercent, 2)
		return chargeLimits{Values: []chargeLimit{{Type: "GLOBAL", Limit: p}}, ActiveLimit: p, Unit: "percent"}
	}},
	{"charge-detailedchargingstatus", "DetailedChargingStatus", "Charge", "read_charge", needsBattery, func(s *State, _ units) any {
		return text{s.ChargeState}
	}},
	{"charge-ischarging", "IsCharging", "Charge", "read_charge", needsBattery, func(s *State, _ units) any {
		return flag{s.ChargeState == "CHARGING"}
	}},
	{"charge-ischargingcableconnected", "IsChargingCableConnected", "Charge", "read_charge", needsBattery, func(s *State, _ units) any {
		return flag{s.PluggedIn}
	}},
	{"closure-doors", "Doors", "Closure", "read_security", anyVehicle, func(s *State, _ units) any {
		g := grid[door]{RowCount: 2, ColumnCount: 2}
		for i, c := range corners {
			g.Values = append(g.Values, door{cell: c, IsOpen: s.DoorsOpen[i], IsLocked: s.Locked})
		}
		return g
	}},
	{"closure-fronttrunk", "FrontTrunk", "Closure", "read_security", anyVehicle, func(s *State, _ units) any {
		return opening{s.FrontTrunkOpen}
	}},
	{"closure-islocked", "IsLocked", "Closure", "read_security", anyVehicle, func(s *State, _ units) any {
		return flag{s.Locked}
	}},
	{"closure-reartrunk", "RearTrunk", "Closure", "read_security", anyVehicle, func(s *State, _ units) any {
		return lockable{IsOpen: s.RearTrunkOpen, IsLocked: s.Locked}
	}},
	{"closure-sunroof", "Sunroof", "Closure", "read_security", anyVehicle, func(s *State, _ units) any {
		return opening{s.SunroofOpen}
	}},
	{"closure-windows", "Windows", "Closure", "read_security", anyVehicle, func(s *State, _ units) any {
		g := grid[window]{RowCount: 2, ColumnCount: 2}
		for i, c := range corners {
			g.Values = append(g.Values, window{cell: c, IsOpen: s.WindowsOpen[i]})
		}
		return g
	}},
	{"internalcombustionengine-amountremaining", "AmountRemaining", "InternalCombustionEngine", "read_fuel", needsFuel, func(s *State, u units) any {
		return u.volume(s.FuelLitres)
	}},
	{"internalcombustionengine-fuellevel", "FuelLevel", "InternalCombustionEngine", "read_fuel", needsFuel, func(s *State, _ units) any {
		return measure{round(s.FuelPercent, 2), "percent"}
	}},
	{"internalcombustionengine-oillife", "OilLife", "InternalCombustionEngine", "read_engine_oil", needsFuel, func(s *State, _ units) any {
		return measure{round(s.OilLifePercent, 2), "percent"}
	}},
	{"internalcombustionengine-range", "Range", "InternalCombustionEngine", "read_fuel", needsFuel, func(s *State, u units) any {
		return u.distance(s.FuelRangeKm)
	}},
	{"location-preciselocation", "PreciseLocation", "Location", "read_location", anyVehicle, func(s *State, _ units) any {
		kind := "LAST_PARKED"
		if s.Moving {
			kind = "CURRENT"
		}
		return location{Latitude: round(s.Latitude, 6), Longitude: round(s.Longitude, 6), Heading: round(s.Heading, 1),
			Direction: direction(s.Heading), LocationType: kind}
	}},
	{"odometer-traveleddistance", "TraveledDistance", "Odometer", "read_odometer", anyVehicle, func(s *State, u units) any {
		return u.distance(s.OdometerKm)
	}},
	{"tractionbattery-nominalcapacity", "NominalCapacity", "TractionBattery", "read_battery", needsBattery, func(s *State, _ units) any {
		return capacity{Source: "SMARTCAR", Capacity: s.CapacityKWh, AvailableCapacities: []availableCapacity{{Capacity: s.CapacityKWh}}, Unit: "kWhr"}
	}},
	{"tractionbattery-range", "Range", "TractionBattery", "read_battery", needsBattery, func(s *State, u units) any {
		d := u.distance(s.BatteryRangeKm)
		return batteryRange{Value: d.Value, Unit: d.Unit, Type: "DEFAULT", AdditionalValues: []measure{}}
	}},
	{"tractionbattery-stateofcharge", "StateOfCharge", "TractionBattery", "read_battery", needsBattery, func(s *State, _ units) any {
		return measure{round(s.BatteryPercent, 2), "percent"}
	}},
	{"vehicleidentification-vin", "VIN", "VehicleIdentification", "read_vin", anyVehicle, func(s *State, _ units) any {
		return text{s.VIN}
	}},
	{"wheel-tires", "Tires", "Wheel", "read_tires", anyVehicle, func(s *State, u units) any {
		g := grid[tire]{RowCount: 2, ColumnCount: 2}
		for i, c := range corners {
			p := u.pressure(s.TiresKPa[i])
			g.Values, g.Unit = append(g.Values, tire{cell: c, TirePressure: p.Value}), p.Unit
		}
		return g
	}},
}

// Codes lists the codes of every signal the sandbox serves, in the order the list
// answers them.
func Codes() []string {
	out := make([]string, len(catalog))
	for i, d := range catalog {
		out[i] = d.code
	}
	return out
}

func findSignal(code string) (signalDef, bool) {
	code = strings.ToLower(code)
	for _, d := range catalog {
		if d.code == code {
			return d, true
		}
	}
	return signalDef{}, false
}

// Conversion factors for sc-unit-system: imperial (the v2 API's).
const (
	kmToMi   = 0.621371
	lToGal   = 0.264172
	kPaToPSI = 0.145038
)

// units is the request's unit system (sc-unit-system; anything but imperial is
// metric). Values are rounded as the v2 API rounds them, so both versions agree.
type units struct{ imperial bool }

func unitsOf(r *http.Request) units {
	return units{imperial: strings.EqualFold(strings.TrimSpace(r.Header.Get("sc-unit-system")), "imperial")}
}

func (u units) distance(km float64) measure {
	if u.imperial {
		return measure{round(km*kmToMi, 1), "mi"}
	}
	return measure{round(km, 1), "km"}
}

func (u units) volume(l float64) measure {
	if u.imperial {
		return measure{round(l*lToGal, 1), "gallons"}
	}
	return measure{round(l, 1), "liters"}
}

func (u units) pressure(kpa float64) measure {
	if u.imperial {
		return measure{round(kpa*kPaToPSI, 1), "psi"}
	}
	return measure{round(kpa, 1), "kPa"}
}

func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

// direction is the compass point nearest a heading.
func direction(heading float64) string {
	points := [...]string{"N", "NE", "E", "SE", "S", "SW", "W", "NW"}
	i := int(math.Round(math.Mod(math.Mod(heading, 360)+360, 360)/45)) % 8
	return points[i]
}

// signalResource is one signal, in the list and on its own.
type signalResource struct {
	ID         string           `json:"id"`
	Type       string           `json:"type"`
	Attributes signalAttributes `json:"attributes"`
	Meta       signalMeta       `json:"meta"`
	Links      signalLinks      `json:"links"`
}

type signalAttributes struct {
	Code   string       `json:"code"`
	Name   string       `json:"name"`
	Group  string       `json:"group"`
	Status signalStatus `json:"status"`
	Body   any          `json:"body,omitempty"`
}

// signalStatus is SUCCESS, or ERROR with the error that kept this signal from being
// read (the rest of the list is unaffected).
type signalStatus struct {
	Value string       `json:"value"`
	Error *signalError `json:"error,omitempty"`
}

type signalError struct {
	Type        string     `json:"type"`
	Code        string     `json:"code"`
	Title       string     `json:"title"`
	Detail      string     `json:"detail"`
	Description string     `json:"description"`
	Resolution  resolution `json:"resolution"`
}

// signalMeta carries epoch milliseconds, as the Java SDK decodes them (Long) and the
// Node SDK documents them (Number).
type signalMeta struct {
	RetrievedAt  int64  `json:"retrievedAt"`
	OemUpdatedAt *int64 `json:"oemUpdatedAt,omitempty"`
}

type signalLinks struct {
	Self    string `json:"self"`
	Vehicle string `json:"vehicle"`
}

// signalOf cuts one signal from the state, or says per signal why it cannot be read:
// a permission the grant lacks (PERMISSION, as recorded from the live API), or
// something the vehicle does not have (COMPATIBILITY/VEHICLE_NOT_CAPABLE).
func (h *Handler) signalOf(r *http.Request, v *Vehicle, d signalDef, s *State, u units) signalResource {
	attrs, meta := h.attributesOf(v, d, s, u)
	return signalResource{ID: d.code, Type: "signal", Attributes: attrs, Meta: meta,
		Links: signalLinks{Self: vehicleURL(r, v.ID) + "/signals/" + d.code, Vehicle: vehicleURL(r, v.ID)}}
}

// attributesOf is a signal's attributes and meta, the part the API's resources and
// webhook payloads share.
func (h *Handler) attributesOf(v *Vehicle, d signalDef, s *State, u units) (signalAttributes, signalMeta) {
	attrs := signalAttributes{Code: d.code, Name: d.name, Group: d.group, Status: signalStatus{Value: "SUCCESS"}}
	meta := signalMeta{RetrievedAt: s.RetrievedAt.UnixMilli()}
	switch {
	case !v.has(d.permission):
		attrs.Status = signalStatus{Value: "ERROR", Error: h.signalError("PERMISSION", "")}
	case !v.capable(d.needs):
		attrs.Status = signalStatus{Value: "ERROR", Error: h.signalError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE")}
	default:
		attrs.Body = d.body(s, u)
		at := s.ReportedAt.UnixMilli()
		meta.OemUpdatedAt = &at
	}
	return attrs, meta
}

// WebhookSignal is one signal as a webhook payload (version 4.0) carries it: the
// API's signal attributes, flattened, with the same body and status, and its meta.
type WebhookSignal struct {
	Code   string       `json:"code"`
	Name   string       `json:"name"`
	Group  string       `json:"group"`
	Body   any          `json:"body,omitempty"`
	Status signalStatus `json:"status"`
	Meta   *signalMeta  `json:"meta,omitempty"`
}

// WebhookSignals cuts the signals of codes (unknown codes are skipped) from one state
// of the vehicle, in metric units, as GET /v3/vehicles/{id}/signals would serve them.
// A signal the grant or the vehicle does not allow carries its error status and no
// body or meta, as Smartcar's payloads show.
func (h *Handler) WebhookSignals(v *Vehicle, s *State, codes []string) []WebhookSignal {
	out := make([]WebhookSignal, 0, len(codes))
	for _, code := range codes {
		d, ok := findSignal(code)
		if !ok {
			continue
		}
		attrs, meta := h.attributesOf(v, d, s, units{})
		ws := WebhookSignal{Code: attrs.Code, Name: attrs.Name, Group: attrs.Group, Body: attrs.Body, Status: attrs.Status}
		if attrs.Body != nil {
			ws.Meta = &meta
		}
		out = append(out, ws)
	}
	return out
}

// Known reports whether the sandbox serves a signal with that code.
func Known(code string) bool {
	_, ok := findSignal(code)
	return ok
}

// signalError is a per-signal error in the shape recorded from the live API: a code
// always (PERMISSION's is UNKNOWN), a title, the text as detail, description
// deprecated, and UNKNOWN_RESOLUTION_TYPE where Smartcar names no resolution.
func (h *Handler) signalError(typ, code string) *signalError {
	e := h.b.Error(typ, code)
	if code == "" {
		code = "UNKNOWN"
	}
	res := e.Resolution
	if res == "" {
		res = "UNKNOWN_RESOLUTION_TYPE"
	}
	return &signalError{Type: typ, Code: code, Title: title(typ, code), Detail: e.Description,
		Description: "Deprecated. Use detail", Resolution: resolution{Type: &res}}
}

type included struct {
	Vehicle vehicleResource `json:"vehicle"`
}

// signalDocument is one signal at the top level, where the official SDKs read it
// (Node returns the body as is, Java reads the root's attributes), and again under
// data with the included vehicle, where recorded live answers have it.
type signalDocument struct {
	signalResource
	Data     signalResource `json:"data"`
	Included included       `json:"included"`
}

func (h *Handler) getSignal(w http.ResponseWriter, r *http.Request, v *Vehicle) (int, any, error) {
	d, ok := findSignal(chi.URLParam(r, "code"))
	if !ok {
		return 0, nil, h.b.Error("RESOURCE_NOT_FOUND", "PATH")
	}
	if !v.has(d.permission) {
		return 0, nil, h.b.Error("PERMISSION", "")
	}
	if !v.capable(d.needs) {
		return 0, nil, h.b.Error("COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
	}
	s, err := h.b.State(r, v)
	if err != nil {
		return 0, nil, err
	}
	res := h.signalOf(r, v, d, s, unitsOf(r))
	return http.StatusOK, signalDocument{signalResource: res, Data: res, Included: included{resourceOf(r, v)}}, nil
}

// Signal list paging: everything on one page unless pageSize says otherwise (the
// Java SDK's e2e test expects pageSize = totalCount on the first page).
const maxPageSize = 100

type signalList struct {
	Data     []signalResource `json:"data"`
	Meta     pageMeta         `json:"meta"`
	Links    pageLinks        `json:"links"`
	Included included         `json:"included"`
}

type pageMeta struct {
	Page       int `json:"page"`
	PageSize   int `json:"pageSize"`
	TotalCount int `json:"totalCount"`
}

type pageLinks struct {
	Self     string  `json:"self"`
	First    string  `json:"first"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
	Last     string  `json:"last"`
}

// listSignals is every signal of the catalog: the ones the grant and the vehicle
// allow with their values, the others with their per-signal error, never a failed
// list. An error account fails the whole request, as its v2 reads do.
func (h *Handler) listSignals(w http.ResponseWriter, r *http.Request, v *Vehicle) (int, any, error) {
	total := len(catalog)
	page, size, err := h.pageParams(r, total)
	if err != nil {
		return 0, nil, err
	}
	s, err := h.b.State(r, v)
	if err != nil {
		return 0, nil, err
	}
	u := unitsOf(r)
	data := []signalResource{}
	for i := (page - 1) * size; i < total && i < page*size; i++ {
		data = append(data, h.signalOf(r, v, catalog[i], s, u))
	}
	last := max(1, (total+size-1)/size)
	base := vehicleURL(r, v.ID) + "/signals"
	at := func(p int) string { return base + "?page=" + strconv.Itoa(p) + "&pageSize=" + strconv.Itoa(size) }
	links := pageLinks{Self: at(page), First: at(1), Last: at(last)}
	if page > 1 {
		p := at(min(page-1, last))
		links.Previous = &p
	}
	if page < last {
		n := at(page + 1)
		links.Next = &n
	}
	return http.StatusOK, signalList{Data: data, Meta: pageMeta{Page: page, PageSize: size, TotalCount: total},
		Links: links, Included: included{resourceOf(r, v)}}, nil
}

// pageParams reads page (default 1) and pageSize (default: all, at most maxPageSize).
// Empty values and Node's literal "undefined" mean the default; anything but a
// positive integer is 400 VALIDATION/PARAMETER.
func (h *Handler) pageParams(r *http.Request, total int) (page, size int, err error) {
	q := r.URL.Query()
	page, size = 1, min(total, maxPageSize)
	read := func(name string, into *int) error {
		v := strings.TrimSpace(q.Get(name))
		if v == "" || v == "undefined" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return h.b.Error("VALIDATION", "PARAMETER").withDetail(name, name+" must be a positive integer")
		}
		*into = n
		return nil
	}
	if err := read("page", &page); err != nil {
		return 0, 0, err
	}
	if err := read("pageSize", &size); err != nil {
		return 0, 0, err
	}
	return page, min(size, maxPageSize), nil
}
