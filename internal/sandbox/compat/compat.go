// Package compat is the sandbox's compatibility table and Smartcar's Compatibility API
// on it: GET /v2.0/compatibility (by VIN) and GET /v2.0/compatibility/matrix (by region,
// make, type and scope). The table is the one Connect shows (its brand list and the
// models its test vehicles get); the sandbox hands it the permissions it knows and the
// v2 endpoints each one reaches, so both answers agree with its routes. The rules are in
// docs/sandbox.md ("Compatibility API").
package compat

import (
	"slices"
	"strings"
)

// Permission is a permission the sandbox knows. Label is the feature name the matrix
// lists for it ("EV battery"); "" for a permission without a v2 endpoint.
type Permission struct {
	Name, Label string
}

// Endpoint is a v2 vehicle endpoint and the permission and feature it needs.
type Endpoint struct {
	Path, Permission, Feature string
}

// Catalog is what the sandbox knows of permissions and endpoints.
type Catalog struct {
	Permissions []Permission // in the grant screen's order
	Endpoints   []Endpoint   // in the route table's order
}

// Table answers compatibility questions from the make table and a catalog.
type Table struct {
	cat Catalog
}

// New returns the table for a catalog.
func New(cat Catalog) *Table { return &Table{cat: cat} }

// Invalid is a parameter the API refuses (400 VALIDATION, naming the field).
type Invalid struct {
	Field, Message string
}

func (e *Invalid) Error() string { return e.Field + ": " + e.Message }

// Reasons of the by-VIN answer (Smartcar's enum).
const (
	ReasonVehicleNotCompatible = "VEHICLE_NOT_COMPATIBLE"
	ReasonMakeNotCompatible    = "MAKE_NOT_COMPATIBLE"
	ReasonSmartcarNotCapable   = "SMARTCAR_NOT_CAPABLE"
	ReasonVehicleNotCapable    = "VEHICLE_NOT_CAPABLE"
)

// Compatibility is the body of GET /compatibility.
type Compatibility struct {
	Compatible   bool         `json:"compatible"`
	Reason       *string      `json:"reason"`
	Capabilities []Capability `json:"capabilities"`
}

// Capability says whether the vehicle can serve one endpoint of a permission.
type Capability struct {
	Permission string  `json:"permission"`
	Endpoint   string  `json:"endpoint"`
	Capable    bool    `json:"capable"`
	Reason     *string `json:"reason"`
}

// VINQuery is a by-VIN request's parameters, as sent (the handler trims nothing).
type VINQuery struct {
	VIN, Scope, Country string
	// Mode and Level are the SDKs' mode and test_mode_compatibility_level.
	Mode, Level string
}

// modes are the modes the SDKs send.
func modes() []string { return []string{"test", "live", "simulated"} }

// CheckVIN answers GET /compatibility. Parameters are checked in the order vin, scope,
// country, mode, test_mode_compatibility_level.
func (t *Table) CheckVIN(q VINQuery) (Compatibility, error) {
	vin := strings.ToUpper(q.VIN)
	if !validVIN(vin) {
		return Compatibility{}, &Invalid{"vin", "vin must be 17 letters and digits"}
	}
	scope, err := t.parseScope(q.Scope, true)
	if err != nil {
		return Compatibility{}, err
	}
	country := strings.ToUpper(q.Country)
	if country == "" || country == "UNDEFINED" || country == "NULL" {
		country = "US" // Smartcar's default; Node sends "undefined" for an unset one
	}
	if !isCountry(country) {
		return Compatibility{}, &Invalid{"country", "country must be an ISO 3166-1 alpha-2 country code, such as US"}
	}
	if q.Mode != "" && !slices.Contains(modes(), q.Mode) {
		return Compatibility{}, &Invalid{"mode", "Field must be one of: [test,live,simulated]"}
	}
	if q.Level != "" || q.Mode == "test" {
		if !KnownLevel(q.Level) {
			return Compatibility{}, &Invalid{"test_mode_compatibility_level",
				"Field must be one of: [" + strings.Join(levels(), ",") + "]"}
		}
	}

	// Test mode: the level decides, whatever the VIN (Smartcar does no VIN-specific
	// validation in test mode).
	if q.Level != "" {
		if q.Level == LevelIncompatible {
			return incompatible(ReasonVehicleNotCompatible), nil
		}
		if !usCapabilities(country) {
			return compatibleOnly(), nil
		}
		return t.capabilities(scope, func(feature string) (bool, string) {
			if Capable(q.Level, feature) {
				return true, ""
			}
			return false, ReasonVehicleNotCapable
		}), nil
	}

	mk, ok := MakeOfVIN(vin)
	if !ok || region(country) == "" {
		return incompatible(ReasonMakeNotCompatible), nil
	}
	if !usCapabilities(country) {
		return compatibleOnly(), nil
	}
	models := modelsOfVIN(mk, vin)
	return t.capabilities(scope, func(feature string) (bool, string) {
		if len(models) == 0 {
			return false, ReasonSmartcarNotCapable // no model of that year in the table
		}
		for _, m := range models {
			if Capable(LevelOf(m.Powertrain), feature) {
				return true, ""
			}
		}
		return false, ReasonVehicleNotCapable
	}), nil
}

// capabilities lists one capability per endpoint of each permission of the scope,
// in the scope's order; capable says whether an endpoint needing a feature is served.
func (t *Table) capabilities(scope []string, capable func(feature string) (bool, string)) Compatibility {
	out := Compatibility{Compatible: true, Capabilities: []Capability{}}
	for _, p := range scope {
		for _, e := range t.endpointsOf(p) {
			ok, reason := capable(e.Feature)
			out.Capabilities = append(out.Capabilities, Capability{Permission: p, Endpoint: e.Path, Capable: ok, Reason: nullable(reason)})
		}
	}
	return out
}

// endpointsOf returns a permission's endpoints, one per path (GET and POST /charge are
// one endpoint of control_charge and read_charge each).
func (t *Table) endpointsOf(permission string) []Endpoint {
	var out []Endpoint
	for _, e := range t.cat.Endpoints {
		if e.Permission == permission && !slices.ContainsFunc(out, func(o Endpoint) bool { return o.Path == e.Path }) {
			out = append(out, e)
		}
	}
	return out
}

func incompatible(reason string) Compatibility {
	return Compatibility{Compatible: false, Reason: &reason, Capabilities: []Capability{}}
}

// compatibleOnly is the answer outside the US: Smartcar checks only the make there and
// lists no capabilities.
func compatibleOnly() Compatibility {
	return Compatibility{Compatible: true, Capabilities: []Capability{}}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// parseScope splits a space-separated scope into known permissions, in order, without
// duplicates. required says whether an empty scope is refused.
func (t *Table) parseScope(s string, required bool) ([]string, error) {
	var out []string
	for _, f := range strings.Fields(s) {
		if !slices.ContainsFunc(t.cat.Permissions, func(p Permission) bool { return p.Name == f }) {
			return nil, &Invalid{"scope", "unknown permission: " + f}
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if required && len(out) == 0 {
		return nil, &Invalid{"scope", "scope must list at least one permission"}
	}
	return out, nil
}

// MatrixEntry is one model of the matrix.
type MatrixEntry struct {
	Model       string   `json:"model"`
	Type        string   `json:"type"`
	StartYear   int      `json:"startYear"`
	EndYear     int      `json:"endYear"`
	Endpoints   []string `json:"endpoints"`
	Permissions []string `json:"permissions"`
}

// MatrixQuery is a matrix request's parameters, as sent.
type MatrixQuery struct {
	Region, Scope, Make, Type, Mode string
}

// Matrix answers GET /compatibility/matrix: make id → its models that match the
// filters. Parameters are checked in the order region, type, make, scope, mode.
func (t *Table) Matrix(q MatrixQuery) (map[string][]MatrixEntry, error) {
	if !slices.Contains(regions(), strings.ToUpper(q.Region)) {
		return nil, &Invalid{"region", "Field must be one of: [" + strings.Join(regions(), ",") + "]"}
	}
	typ := strings.ToUpper(q.Type)
	if q.Type != "" && !slices.Contains(powertrainTypes(), typ) {
		return nil, &Invalid{"type", "Field must be one of: [" + strings.Join(powertrainTypes(), ",") + "]"}
	}
	var only []Make
	for _, f := range strings.Fields(q.Make) {
		mk, ok := FindMake(f)
		if !ok {
			return nil, &Invalid{"make", "unknown make: " + f}
		}
		only = append(only, mk)
	}
	if len(only) == 0 {
		only = makes
	}
	scope, err := t.parseScope(q.Scope, false)
	if err != nil {
		return nil, err
	}
	if q.Mode != "" && !slices.Contains(modes(), q.Mode) {
		return nil, &Invalid{"mode", "Field must be one of: [test,live,simulated]"}
	}

	out := map[string][]MatrixEntry{}
	for _, mk := range only {
		for _, m := range mk.Models {
			if typ != "" && m.Powertrain != typ {
				continue
			}
			if e, ok := t.entry(m, scope); ok {
				out[mk.Make] = append(out[mk.Make], e)
			}
		}
	}
	return out, nil
}

// entry is a model's matrix entry: the permissions its powertrain serves (those of the
// scope, when one is given; a model that cannot serve all of them is left out), with
// their feature names, sorted by name as Smartcar's example lists them.
func (t *Table) entry(m Model, scope []string) (MatrixEntry, bool) {
	type feature struct{ label, permission string }
	var fs []feature
	level := LevelOf(m.Powertrain)
	for _, p := range t.cat.Permissions {
		if p.Label == "" || (len(scope) > 0 && !slices.Contains(scope, p.Name)) {
			continue
		}
		eps := t.endpointsOf(p.Name)
		if slices.ContainsFunc(eps, func(e Endpoint) bool { return Capable(level, e.Feature) }) {
			fs = append(fs, feature{p.Label, p.Name})
		}
	}
	if len(scope) > 0 && len(fs) < len(scope) {
		return MatrixEntry{}, false
	}
	slices.SortStableFunc(fs, func(a, b feature) int { return strings.Compare(a.label, b.label) })
	e := MatrixEntry{Model: m.Name, Type: m.Powertrain, StartYear: m.From, EndYear: m.To,
		Endpoints: []string{}, Permissions: []string{}}
	for _, f := range fs {
		e.Endpoints = append(e.Endpoints, f.label)
		e.Permissions = append(e.Permissions, f.permission)
	}
	return e, true
}
