package smartcar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signal codes of API v3 that this package decodes into typed values
// (Signal.Value). Codes match whatever their case.
const (
	SignalOdometer       = "odometer-traveleddistance"                // Measurement (km or mi)
	SignalLocation       = "location-preciselocation"                 // PreciseLocation
	SignalStateOfCharge  = "tractionbattery-stateofcharge"            // Measurement (percent, 0–100)
	SignalBatteryRange   = "tractionbattery-range"                    // BatteryRange
	SignalFuelLevel      = "internalcombustionengine-fuellevel"       // Measurement (percent)
	SignalFuelAmount     = "internalcombustionengine-amountremaining" // Measurement (liters or gallons)
	SignalFuelRange      = "internalcombustionengine-range"           // Measurement (km or mi)
	SignalOilLife        = "internalcombustionengine-oillife"         // Measurement (percent)
	SignalIsLocked       = "closure-islocked"                         // bool
	SignalDoors          = "closure-doors"                            // Doors
	SignalWindows        = "closure-windows"                          // Windows
	SignalSunroof        = "closure-sunroof"                          // Closure
	SignalFrontTrunk     = "closure-fronttrunk"                       // Closure
	SignalRearTrunk      = "closure-reartrunk"                        // Closure
	SignalTires          = "wheel-tires"                              // Tires
	SignalChargeLimits   = "charge-chargelimits"                      // ChargeLimits
	SignalIsCharging     = "charge-ischarging"                        // bool
	SignalCableConnected = "charge-ischargingcableconnected"          // bool
	SignalChargingStatus = "charge-detailedchargingstatus"            // ChargeState
	SignalVIN            = "vehicleidentification-vin"                // string
)

// Signal statuses (Signal.Status).
const (
	SignalSuccess = "SUCCESS"
	SignalError   = "ERROR"
)

// DefaultSignalPageSize is the page size Signals and AllSignals ask for unless the
// PageSize option says otherwise: large enough for every signal of a vehicle to
// come in one round trip.
const DefaultSignalPageSize = 100

// ErrNoSignal is returned by a SignalSet accessor for a code the set does not hold.
var ErrNoSignal = errors.New("smartcar: signal not in the list")

// Signal is one v3 signal: a reading of one kind (its code) with its status.
type Signal struct {
	// Code identifies the signal, such as SignalOdometer.
	Code string
	// Name and Group are Smartcar's names for it, such as "TraveledDistance" and
	// "Odometer".
	Name, Group string
	// Status is SignalSuccess, or SignalError (or another status) with Err set.
	Status string
	// Err is why this signal could not be read (PERMISSION for a permission the
	// grant lacks, COMPATIBILITY for one the vehicle does not have); nil on
	// success. The other signals of a list are not affected.
	Err *Error
	// Body is the signal's body as Smartcar sent it; nil when it has none.
	Body json.RawMessage
	// Value is Body decoded for the codes above (Measurement, BatteryRange,
	// PreciseLocation, bool, Doors, Windows, Closure, Tires, ChargeLimits,
	// ChargeState, string);
	// nil for other codes, whose Body SignalValue can still decode into any type.
	Value any
	// RetrievedAt is when Smartcar read the signal; OEMUpdatedAt when the vehicle
	// recorded it (zero when not said).
	RetrievedAt, OEMUpdatedAt time.Time
	// Meta is the metadata of the response the signal came in.
	Meta Meta
}

// SignalValue returns the signal's value as a T: its Value when that is a T, else
// its Body decoded into a T (or, for a body {"value": v}, v decoded into a T, so
// that SignalValue[bool] reads closure-islocked). A signal in error returns its
// Err; a nil signal ErrNoSignal.
func SignalValue[T any](s *Signal) (T, error) {
	var v T
	if s == nil {
		return v, ErrNoSignal
	}
	if s.Err != nil {
		return v, s.Err
	}
	if tv, ok := s.Value.(T); ok {
		return tv, nil
	}
	if len(s.Body) == 0 {
		return v, fmt.Errorf("smartcar: signal %s has no body", s.Code)
	}
	err := json.Unmarshal(s.Body, &v)
	if err == nil {
		return v, nil
	}
	if inner, ok := object(s.Body)["value"]; ok {
		var w T
		if json.Unmarshal(inner, &w) == nil {
			return w, nil
		}
	}
	return v, fmt.Errorf("smartcar: signal %s: body is not a %T: %w", s.Code, v, err)
}

// Measurement is a number with its unit, such as {12345.6 "km"} or {80 "percent"}.
type Measurement struct {
	Value float64
	Unit  string // "km", "mi", "percent", "liters", "gallons", ...
}

// UnmarshalJSON reads {"value", "unit"}; a value may also be a numeric string.
func (m *Measurement) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*m = Measurement{Value: number(o["value"]), Unit: rawString(o["unit"])}
	return nil
}

// BatteryRange is the traction battery's estimated range.
type BatteryRange struct {
	Measurement
	// Type is the kind of estimate, such as "DEFAULT".
	Type string
	// AdditionalValues are other estimates, when the vehicle gives several.
	AdditionalValues []Measurement
}

// UnmarshalJSON reads {"value", "unit", "type", "additionalValues"}.
func (r *BatteryRange) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*r = BatteryRange{Measurement: Measurement{Value: number(o["value"]), Unit: rawString(o["unit"])}, Type: rawString(o["type"])}
	for _, it := range items(o["additionalValues"]) {
		var m Measurement
		if m.UnmarshalJSON(it) == nil {
			r.AdditionalValues = append(r.AdditionalValues, m)
		}
	}
	return nil
}

// PreciseLocation is the vehicle's position.
type PreciseLocation struct {
	Latitude, Longitude float64 // degrees
	Heading             float64 // degrees clockwise from north
	Direction           string  // compass point, such as "NE"
	// LocationType is "CURRENT" (read now) or "LAST_PARKED".
	LocationType string
}

// UnmarshalJSON reads {"latitude", "longitude", "heading", "direction", "locationType"}.
func (l *PreciseLocation) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*l = PreciseLocation{Latitude: number(o["latitude"]), Longitude: number(o["longitude"]), Heading: number(o["heading"]),
		Direction: rawString(o["direction"]), LocationType: rawString(o["locationType"])}
	return nil
}

// ChargeLimits are the charge limits the vehicle knows and the one in force.
type ChargeLimits struct {
	Values      []ChargeLimitValue
	ActiveLimit float64 // in Unit
	Unit        string  // "percent"
}

// ChargeLimitValue is one charge limit, such as {"GLOBAL", 80}.
type ChargeLimitValue struct {
	Type  string
	Limit float64
}

// UnmarshalJSON reads {"values": [{"type", "limit"}], "activeLimit", "unit"}.
func (c *ChargeLimits) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*c = ChargeLimits{ActiveLimit: number(o["activeLimit"]), Unit: rawString(o["unit"])}
	for _, it := range items(o["values"]) {
		if v := object(it); v != nil {
			c.Values = append(c.Values, ChargeLimitValue{Type: rawString(v["type"]), Limit: number(v["limit"])})
		}
	}
	return nil
}

// Doors are the vehicle's doors, on a grid of rows (front to back) and columns
// (left to right).
type Doors struct {
	Values                []Door
	RowCount, ColumnCount int
}

// Door is one door.
type Door struct {
	Row, Column      int
	IsOpen, IsLocked bool
}

// UnmarshalJSON reads {"values": [{"row", "column", "isOpen", "isLocked"}], "rowCount", "columnCount"}.
func (d *Doors) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*d = Doors{RowCount: int(number(o["rowCount"])), ColumnCount: int(number(o["columnCount"]))}
	for _, it := range items(o["values"]) {
		if v := object(it); v != nil {
			d.Values = append(d.Values, Door{Row: int(number(v["row"])), Column: int(number(v["column"])),
				IsOpen: boolean(v["isOpen"]), IsLocked: boolean(v["isLocked"])})
		}
	}
	return nil
}

// Windows are the vehicle's windows, on the doors' grid.
type Windows struct {
	Values                []Window
	RowCount, ColumnCount int
}

// Window is one window.
type Window struct {
	Row, Column int
	IsOpen      bool
}

// UnmarshalJSON reads {"values": [{"row", "column", "isOpen"}], "rowCount", "columnCount"}.
func (w *Windows) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*w = Windows{RowCount: int(number(o["rowCount"])), ColumnCount: int(number(o["columnCount"]))}
	for _, it := range items(o["values"]) {
		if v := object(it); v != nil {
			w.Values = append(w.Values, Window{Row: int(number(v["row"])), Column: int(number(v["column"])), IsOpen: boolean(v["isOpen"])})
		}
	}
	return nil
}

// Closure is one opening that is not a door or a window: the sunroof, a trunk.
type Closure struct {
	IsOpen bool
	// IsLocked is false when the closure has no lock (or Smartcar does not say).
	IsLocked bool
}

// UnmarshalJSON reads {"isOpen", "isLocked"}.
func (c *Closure) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*c = Closure{IsOpen: boolean(o["isOpen"]), IsLocked: boolean(o["isLocked"])}
	return nil
}

// Tires are the tire pressures, on the doors' grid, in Unit.
type Tires struct {
	Values                []Tire
	RowCount, ColumnCount int
	Unit                  string // "kPa", "psi", "bar", ...
}

// Tire is one tire's pressure.
type Tire struct {
	Row, Column int
	Pressure    float64
}

// UnmarshalJSON reads {"values": [{"row", "column", "tirePressure"}], "rowCount", "columnCount", "unit"}.
func (t *Tires) UnmarshalJSON(b []byte) error {
	o, err := bodyObject(b)
	if err != nil {
		return err
	}
	*t = Tires{RowCount: int(number(o["rowCount"])), ColumnCount: int(number(o["columnCount"])), Unit: rawString(o["unit"])}
	for _, it := range items(o["values"]) {
		if v := object(it); v != nil {
			t.Values = append(t.Values, Tire{Row: int(number(v["row"])), Column: int(number(v["column"])), Pressure: number(v["tirePressure"])})
		}
	}
	return nil
}

// bodyObject decodes a signal body that must be an object.
func bodyObject(b []byte) (map[string]json.RawMessage, error) {
	o := object(b)
	if o == nil {
		return nil, errors.New("smartcar: signal body is not a JSON object")
	}
	return o, nil
}

// items decodes a JSON array; anything else gives nil.
func items(raw json.RawMessage) []json.RawMessage {
	var out []json.RawMessage
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

// decodeSignalValue decodes the body of a known code; nil for other codes or a body
// of another shape (the signal keeps its Body).
func decodeSignalValue(code string, body json.RawMessage) any {
	decode := func(v interface{ UnmarshalJSON([]byte) error }) bool { return v.UnmarshalJSON(body) == nil }
	inner := func() (json.RawMessage, bool) {
		v, ok := object(body)["value"]
		return v, ok
	}
	switch strings.ToLower(code) {
	case SignalOdometer, SignalStateOfCharge, SignalFuelLevel, SignalFuelAmount, SignalFuelRange, SignalOilLife:
		var m Measurement
		if decode(&m) {
			return m
		}
	case SignalBatteryRange:
		var r BatteryRange
		if decode(&r) {
			return r
		}
	case SignalLocation:
		var l PreciseLocation
		if decode(&l) {
			return l
		}
	case SignalChargeLimits:
		var c ChargeLimits
		if decode(&c) {
			return c
		}
	case SignalDoors:
		var d Doors
		if decode(&d) {
			return d
		}
	case SignalWindows:
		var w Windows
		if decode(&w) {
			return w
		}
	case SignalSunroof, SignalFrontTrunk, SignalRearTrunk:
		var c Closure
		if decode(&c) {
			return c
		}
	case SignalTires:
		var t Tires
		if decode(&t) {
			return t
		}
	case SignalIsLocked, SignalIsCharging, SignalCableConnected:
		if v, ok := inner(); ok {
			return boolean(v)
		}
	case SignalChargingStatus:
		if v, ok := inner(); ok {
			return ChargeState(rawString(v))
		}
	case SignalVIN:
		if v, ok := inner(); ok {
			return rawString(v)
		}
	}
	return nil
}

// decodeSignal reads a signal resource field by field: a field of an unexpected
// kind loses only itself. header is the response's, for the request id of a
// signal's own error.
func decodeSignal(res map[string]json.RawMessage, header http.Header) *Signal {
	attrs, meta := object(res["attributes"]), object(res["meta"])
	s := &Signal{
		Code:         firstNonEmpty(rawString(attrs["code"]), rawString(res["id"])),
		Name:         rawString(attrs["name"]),
		Group:        rawString(attrs["group"]),
		RetrievedAt:  flexTime(meta["retrievedAt"]),
		OEMUpdatedAt: flexTime(meta["oemUpdatedAt"]),
	}
	if b := bytes.TrimSpace(attrs["body"]); len(b) > 0 && string(b) != "null" {
		s.Body = b
	}
	st := object(attrs["status"])
	s.Status = firstNonEmpty(rawString(st["value"]), rawString(attrs["status"]))
	if e := bytes.TrimSpace(st["error"]); len(e) > 0 && e[0] == '{' {
		s.Err = decodeError(0, header, e)
	}
	switch {
	case s.Status == "" && s.Err == nil && s.Body != nil:
		// No status at all: a body means it was read.
		s.Status = SignalSuccess
	case s.Status == "":
		s.Status = SignalError
	}
	if s.Status != SignalSuccess && s.Err == nil {
		// Callers may rely on Err for every signal not read.
		s.Err = &Error{Type: TypeSDKError, Description: "signal " + s.Code + " has status " + strconv.Quote(s.Status) + " and no error",
			RequestID: headerValue(header, "sc-request-id")}
	}
	if s.Status == SignalSuccess && s.Err == nil && s.Body != nil {
		s.Value = decodeSignalValue(s.Code, s.Body)
	}
	return s
}

// Signal reads one signal: GET /v3/vehicles/{id}/signals/{code}. A signal the grant
// or the vehicle cannot give is an HTTP error (403 PERMISSION, 501 COMPATIBILITY),
// an unknown code 404 RESOURCE_NOT_FOUND. Should Smartcar answer 200 with the
// signal in error, the signal is returned with its Err, which is also the error.
func (c *V3Client) Signal(ctx context.Context, vehicleID, code string, opts ...RequestOption) (*Signal, error) {
	if code == "" {
		return nil, errors.New("smartcar: empty signal code")
	}
	p, err := v3VehiclePath(vehicleID, "/signals/"+url.PathEscape(code))
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	var header http.Header
	meta, err := c.do(ctx, call{method: http.MethodGet, path: p, opts: opts, header: &header}, &raw)
	if err != nil {
		return nil, err
	}
	s := decodeSignal(resourceOf(raw), header)
	s.Meta = meta
	if s.Err != nil {
		return s, s.Err
	}
	return s, nil
}

// SignalPage is one page of a vehicle's signals.
type SignalPage struct {
	// Signals are this page's signals, each with its own status.
	Signals []*Signal
	// Page is this page's number (from 1), PageSize the size the server used and
	// TotalCount the number of signals across all pages.
	Page, PageSize, TotalCount int
	// HasNext says whether a later page exists.
	HasNext bool
	// Vehicle is the vehicle the answer includes, nil when it has none.
	Vehicle *Vehicle
	Meta    Meta // metadata of the response
}

// SignalPage reads one page of a vehicle's signals: GET
// /v3/vehicles/{id}/signals?page&pageSize. A page or pageSize of 0 or less is left
// to Smartcar. Signals the grant or the vehicle cannot give are in the page with
// their own Err; the call itself fails only when the whole request does.
func (c *V3Client) SignalPage(ctx context.Context, vehicleID string, page, pageSize int, opts ...RequestOption) (*SignalPage, error) {
	p, err := v3VehiclePath(vehicleID, "/signals")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	var raw json.RawMessage
	var header http.Header
	meta, err := c.do(ctx, call{method: http.MethodGet, path: p, query: q, opts: opts, header: &header}, &raw)
	if err != nil {
		return nil, err
	}
	sp := decodeSignalPage(raw, header)
	sp.Meta = meta
	for _, s := range sp.Signals {
		s.Meta = meta
	}
	if sp.Page == 0 {
		sp.Page = max(page, 1)
	}
	return sp, nil
}

// decodeSignalPage reads a signal list leniently: a signal that is not an object is
// skipped, the others are kept.
func decodeSignalPage(raw []byte, header http.Header) *SignalPage {
	doc := object(raw)
	meta := object(doc["meta"])
	sp := &SignalPage{
		Page:       int(number(firstPresent(meta["page"], meta["pageNumber"]))),
		PageSize:   int(number(meta["pageSize"])),
		TotalCount: int(number(meta["totalCount"])),
	}
	for _, it := range items(doc["data"]) {
		if res := object(it); res != nil {
			sp.Signals = append(sp.Signals, decodeSignal(res, header))
		}
	}
	if v := object(object(doc["included"])["vehicle"]); v != nil {
		sp.Vehicle = decodeVehicle(v)
	}
	links := object(doc["links"])
	if next, ok := links["next"]; ok {
		sp.HasNext = rawString(next) != ""
	} else {
		// No links: trust the counts.
		size := max(sp.PageSize, len(sp.Signals))
		sp.HasNext = size > 0 && max(sp.Page, 1)*size < sp.TotalCount
	}
	return sp
}

func firstPresent(raws ...json.RawMessage) json.RawMessage {
	for _, r := range raws {
		if len(r) > 0 {
			return r
		}
	}
	return nil
}

// maxSignalPages bounds how many pages Signals follows, should a server never stop
// announcing a next page that brings new codes.
const maxSignalPages = 1000

// pages calls fn with each page of the vehicle's signals until fn returns false,
// the last page is read, or a page brings no signal not seen before (so a server
// that never advances cannot make it loop).
func (c *V3Client) pages(ctx context.Context, vehicleID string, opts []RequestOption, fn func(*SignalPage, []*Signal) bool) error {
	var rc requestConfig
	for _, o := range opts {
		o.applyRequest(&rc)
	}
	size := rc.pageSize
	if size <= 0 {
		size = DefaultSignalPageSize
	}
	seen := map[string]bool{}
	for page := 1; page <= maxSignalPages; page++ {
		sp, err := c.SignalPage(ctx, vehicleID, page, size, opts...)
		if err != nil {
			return err
		}
		var fresh []*Signal
		for _, s := range sp.Signals {
			key := strings.ToLower(s.Code)
			if key != "" && seen[key] {
				continue
			}
			seen[key] = true
			fresh = append(fresh, s)
		}
		if !fn(sp, fresh) || len(fresh) == 0 || !sp.HasNext {
			return nil
		}
	}
	return nil
}

// Signals iterates over all the vehicle's signals, page after page (PageSize, by
// default DefaultSignalPageSize). Each signal comes with a nil error, its own
// failure in Signal.Err; a failed request ends the iteration with (nil, err).
//
//	for s, err := range api.Signals(ctx, id) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func (c *V3Client) Signals(ctx context.Context, vehicleID string, opts ...RequestOption) iter.Seq2[*Signal, error] {
	return func(yield func(*Signal, error) bool) {
		err := c.pages(ctx, vehicleID, opts, func(_ *SignalPage, fresh []*Signal) bool {
			for _, s := range fresh {
				if !yield(s, nil) {
					return false
				}
			}
			return true
		})
		if err != nil {
			yield(nil, err)
		}
	}
}

// AllSignals reads all the vehicle's signals into a SignalSet, in one round trip
// when they fit on one page (PageSize, by default DefaultSignalPageSize).
func (c *V3Client) AllSignals(ctx context.Context, vehicleID string, opts ...RequestOption) (*SignalSet, error) {
	set := &SignalSet{byCode: map[string]*Signal{}}
	first := true
	err := c.pages(ctx, vehicleID, opts, func(sp *SignalPage, fresh []*Signal) bool {
		if first {
			set.Vehicle, set.Meta, first = sp.Vehicle, sp.Meta, false
		}
		for _, s := range fresh {
			set.add(s)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return set, nil
}

// SignalSet is all the signals of one vehicle, looked up by code. Its accessors
// return a signal's typed value, the signal's own Err, or ErrNoSignal. It is safe
// for concurrent reads.
type SignalSet struct {
	// Signals are in the order Smartcar listed them.
	Signals []*Signal
	// Vehicle is the vehicle the answer includes, nil when it has none.
	Vehicle *Vehicle
	// Meta is the metadata of the first page's response.
	Meta Meta

	byCode map[string]*Signal
}

// NewSignalSet returns a set of signals read by other means than the API (a webhook
// payload, a store), so that they are read with the same accessors. A successful
// signal with a Body and no Value gets its typed Value, as the API's do; a signal
// that is neither successful nor carries an Err gets one.
func NewSignalSet(signals ...*Signal) *SignalSet {
	set := &SignalSet{byCode: make(map[string]*Signal, len(signals))}
	for _, sig := range signals {
		if sig == nil {
			continue
		}
		s := *sig
		if s.Status == "" && s.Err == nil && s.Body != nil {
			s.Status = SignalSuccess
		}
		if s.Status != SignalSuccess && s.Err == nil {
			s.Err = &Error{Type: TypeSDKError, Description: "signal " + s.Code + " has status " + strconv.Quote(s.Status) + " and no error"}
		}
		if s.Status == SignalSuccess && s.Err == nil && s.Value == nil && s.Body != nil {
			s.Value = decodeSignalValue(s.Code, s.Body)
		}
		set.add(&s)
	}
	return set
}

func (s *SignalSet) add(sig *Signal) {
	s.Signals = append(s.Signals, sig)
	if key := strings.ToLower(sig.Code); key != "" {
		s.byCode[key] = sig
	}
}

// Lookup returns the signal of a code, whatever its case.
func (s *SignalSet) Lookup(code string) (*Signal, bool) {
	sig, ok := s.byCode[strings.ToLower(code)]
	return sig, ok
}

// Signal returns the signal of a code and, when it could not be read, its Err; a
// code the set does not hold gives ErrNoSignal.
func (s *SignalSet) Signal(code string) (*Signal, error) {
	sig, ok := s.Lookup(code)
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSignal, code)
	}
	if sig.Err != nil {
		return sig, sig.Err
	}
	return sig, nil
}

// setValue is the typed value of one code of the set.
func setValue[T any](s *SignalSet, code string) (T, error) {
	sig, err := s.Signal(code)
	if err != nil {
		var zero T
		return zero, err
	}
	return SignalValue[T](sig)
}

// Odometer returns SignalOdometer's value.
func (s *SignalSet) Odometer() (Measurement, error) { return setValue[Measurement](s, SignalOdometer) }

// Location returns SignalLocation's value.
func (s *SignalSet) Location() (PreciseLocation, error) {
	return setValue[PreciseLocation](s, SignalLocation)
}

// StateOfCharge returns SignalStateOfCharge's value, in percent.
func (s *SignalSet) StateOfCharge() (Measurement, error) {
	return setValue[Measurement](s, SignalStateOfCharge)
}

// BatteryRange returns SignalBatteryRange's value.
func (s *SignalSet) BatteryRange() (BatteryRange, error) {
	return setValue[BatteryRange](s, SignalBatteryRange)
}

// FuelLevel returns SignalFuelLevel's value, in percent.
func (s *SignalSet) FuelLevel() (Measurement, error) {
	return setValue[Measurement](s, SignalFuelLevel)
}

// FuelAmount returns SignalFuelAmount's value.
func (s *SignalSet) FuelAmount() (Measurement, error) {
	return setValue[Measurement](s, SignalFuelAmount)
}

// FuelRange returns SignalFuelRange's value.
func (s *SignalSet) FuelRange() (Measurement, error) {
	return setValue[Measurement](s, SignalFuelRange)
}

// OilLife returns SignalOilLife's value, in percent.
func (s *SignalSet) OilLife() (Measurement, error) { return setValue[Measurement](s, SignalOilLife) }

// Tires returns SignalTires's value.
func (s *SignalSet) Tires() (Tires, error) { return setValue[Tires](s, SignalTires) }

// VIN returns SignalVIN's value.
func (s *SignalSet) VIN() (string, error) { return setValue[string](s, SignalVIN) }

// IsLocked returns SignalIsLocked's value.
func (s *SignalSet) IsLocked() (bool, error) { return setValue[bool](s, SignalIsLocked) }

// Doors returns SignalDoors's value.
func (s *SignalSet) Doors() (Doors, error) { return setValue[Doors](s, SignalDoors) }

// Windows returns SignalWindows's value.
func (s *SignalSet) Windows() (Windows, error) { return setValue[Windows](s, SignalWindows) }

// ChargeLimits returns SignalChargeLimits's value.
func (s *SignalSet) ChargeLimits() (ChargeLimits, error) {
	return setValue[ChargeLimits](s, SignalChargeLimits)
}

// IsCharging returns SignalIsCharging's value.
func (s *SignalSet) IsCharging() (bool, error) { return setValue[bool](s, SignalIsCharging) }

// IsChargingCableConnected returns SignalCableConnected's value.
func (s *SignalSet) IsChargingCableConnected() (bool, error) {
	return setValue[bool](s, SignalCableConnected)
}

// ChargingStatus returns SignalChargingStatus's value.
func (s *SignalSet) ChargingStatus() (ChargeState, error) {
	return setValue[ChargeState](s, SignalChargingStatus)
}
