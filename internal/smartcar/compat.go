package smartcar

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// The Compatibility API (v2.0) answers for the application, not for a user: it is
// authorised with the client id and secret (HTTP Basic), so its calls are methods
// of Config, as the token calls and the v3 application token are.

// Reasons of a compatibility answer (Compatibility.Reason, Capability.Reason).
const (
	ReasonVehicleNotCompatible = "VEHICLE_NOT_COMPATIBLE"
	ReasonMakeNotCompatible    = "MAKE_NOT_COMPATIBLE"
	ReasonSmartcarNotCapable   = "SMARTCAR_NOT_CAPABLE"
	ReasonVehicleNotCapable    = "VEHICLE_NOT_CAPABLE"
)

// Regions of the compatibility matrix (CompatibilityMatrix's region).
const (
	RegionUS     = "US"
	RegionCanada = "CA"
	RegionEurope = "EUROPE"
)

// Powertrain types, as the matrix (Model.Type, MatrixType) and API v3
// (Vehicle.PowertrainType) name them.
const (
	PowertrainICE  = "ICE"
	PowertrainBEV  = "BEV"
	PowertrainPHEV = "PHEV"
	PowertrainHEV  = "HEV"
)

// CompatibilityLevel is the test-mode compatibility level (TestModeLevel): which
// permissions a test vehicle is taken to be capable of, whatever the VIN.
type CompatibilityLevel string

// Test-mode compatibility levels, as Smartcar documents them.
const (
	LevelCompatible   CompatibilityLevel = "compatible"   // everything
	LevelPHEV         CompatibilityLevel = "phev"         // everything
	LevelIncompatible CompatibilityLevel = "incompatible" // an incompatible vehicle
	LevelFuel         CompatibilityLevel = "fuel"         // no battery or charge
	LevelDinosaur     CompatibilityLevel = "dinosaur"     // as fuel
	LevelBEV          CompatibilityLevel = "bev"          // no fuel or engine oil
)

// Compatibility is Smartcar's answer on whether a vehicle can connect and what it
// can do.
type Compatibility struct {
	// Compatible says whether the vehicle can connect to Smartcar at all.
	Compatible bool
	// Reason says why not (ReasonVehicleNotCompatible, ReasonMakeNotCompatible);
	// empty when compatible.
	Reason string
	// Capabilities has one entry per endpoint of each permission asked about;
	// Smartcar lists them for US vehicles only.
	Capabilities []Capability
	Meta         Meta // metadata of the response
}

// Capability says whether the vehicle can serve one endpoint of a permission.
type Capability struct {
	Permission string // such as "read_battery"
	Endpoint   string // such as "/battery/capacity"
	Capable    bool
	// Reason says why not (ReasonVehicleNotCapable, ReasonSmartcarNotCapable);
	// empty when capable.
	Reason string
}

// Model is one model of the compatibility matrix.
type Model struct {
	Model string // such as "LEAF"
	// Type is the powertrain: PowertrainBEV, PowertrainPHEV, PowertrainICE or
	// PowertrainHEV.
	Type               string
	StartYear, EndYear int // the model years Smartcar supports
	// Endpoints are the feature names ("EV battery", "Lock & unlock", ...) and
	// Permissions their permissions, in the same order.
	Endpoints, Permissions []string
}

// CompatibilityMatrix is the compatibility matrix of a region.
type CompatibilityMatrix struct {
	// Makes maps each make (such as "TESLA") to its models that match the filters;
	// makes without one are absent.
	Makes map[string][]Model
	Meta  Meta // metadata of the response
}

// CompatibilityOption is a setting of Config.Compatibility or
// Config.CompatibilityMatrix. Each says which call it applies to; the other
// ignores it.
type CompatibilityOption interface {
	applyCompat(*compatConfig)
}

type compatConfig struct {
	country, mode, level string
	makes, scope         []string
	typ                  string
}

type compatOptionFunc func(*compatConfig)

func (f compatOptionFunc) applyCompat(c *compatConfig) { f(c) }

// Country names the country of the vehicle (ISO 3166-1 alpha-2, such as "DE") for
// Config.Compatibility; without it the call asks about the US, as the official
// SDKs do.
func Country(code string) CompatibilityOption {
	return compatOptionFunc(func(c *compatConfig) { c.country = code })
}

// CompatibilityMode sends mode (live, test or simulated) with either call. In test
// mode Config.Compatibility also needs TestModeLevel, which implies ModeTest.
func CompatibilityMode(m Mode) CompatibilityOption {
	return compatOptionFunc(func(c *compatConfig) { c.mode = string(m) })
}

// TestModeLevel asks Config.Compatibility in test mode (mode=test,
// test_mode_compatibility_level): the level decides the answer, whatever the VIN.
func TestModeLevel(l CompatibilityLevel) CompatibilityOption {
	return compatOptionFunc(func(c *compatConfig) { c.level = string(l) })
}

// MatrixMakes keeps Config.CompatibilityMatrix to these makes (such as "TESLA").
func MatrixMakes(makes ...string) CompatibilityOption {
	return compatOptionFunc(func(c *compatConfig) { c.makes = makes })
}

// MatrixType keeps Config.CompatibilityMatrix to one powertrain (PowertrainBEV, ...).
func MatrixType(powertrain string) CompatibilityOption {
	return compatOptionFunc(func(c *compatConfig) { c.typ = powertrain })
}

// MatrixScope keeps Config.CompatibilityMatrix to the models that serve all these
// permissions, and lists only them; without it the matrix lists every permission.
func MatrixScope(permissions ...string) CompatibilityOption {
	return compatOptionFunc(func(c *compatConfig) { c.scope = permissions })
}

// Compatibility asks whether the vehicle with this VIN can connect and serve the
// permissions of scope (nil: the Config's Scopes, without "required:"): GET
// /v2.0/compatibility?vin&scope&country[&mode&test_mode_compatibility_level] at
// Endpoint.APIOrigin, authorised with ClientID and ClientSecret. An incompatible
// vehicle is an answer (Compatible false with its Reason), not an error; a
// malformed VIN, an unknown permission or country is a VALIDATION *Error, wrong
// credentials AUTHENTICATION. The *http.Client is the one in ctx under
// oauth2.HTTPClient, as for Exchange.
func (c *Config) Compatibility(ctx context.Context, vin string, scope []string, opts ...CompatibilityOption) (*Compatibility, error) {
	cc := compatOptions(opts)
	if scope == nil {
		for _, s := range c.Scopes {
			scope = append(scope, strings.TrimPrefix(s, "required:"))
		}
	}
	q := url.Values{}
	q.Set("vin", vin)
	q.Set("scope", strings.Join(scope, " "))
	q.Set("country", firstNonEmpty(cc.country, "US"))
	cc.setMode(q)
	var raw json.RawMessage
	meta, err := c.appCall(ctx, call{method: http.MethodGet, path: "/" + apiVersion + "/compatibility", query: q}, &raw)
	if err != nil {
		return nil, err
	}
	res, err := decodeCompatibility(raw)
	if err != nil {
		return nil, err
	}
	res.Meta = meta
	return res, nil
}

// CompatibilityMatrix reads the compatibility matrix of region (RegionUS,
// RegionCanada, RegionEurope), narrowed by MatrixMakes, MatrixType and MatrixScope:
// GET /v2.0/compatibility/matrix?region[&make&type&scope&mode], authorised as
// Compatibility is.
func (c *Config) CompatibilityMatrix(ctx context.Context, region string, opts ...CompatibilityOption) (*CompatibilityMatrix, error) {
	cc := compatOptions(opts)
	q := url.Values{}
	q.Set("region", region)
	if len(cc.makes) > 0 {
		q.Set("make", strings.Join(cc.makes, " "))
	}
	if cc.typ != "" {
		q.Set("type", cc.typ)
	}
	if len(cc.scope) > 0 {
		q.Set("scope", strings.Join(cc.scope, " "))
	}
	cc.setMode(q)
	var raw json.RawMessage
	meta, err := c.appCall(ctx, call{method: http.MethodGet, path: "/" + apiVersion + "/compatibility/matrix", query: q}, &raw)
	if err != nil {
		return nil, err
	}
	m, err := decodeMatrix(raw)
	if err != nil {
		return nil, err
	}
	m.Meta = meta
	return m, nil
}

func compatOptions(opts []CompatibilityOption) compatConfig {
	var cc compatConfig
	for _, o := range opts {
		o.applyCompat(&cc)
	}
	return cc
}

// setMode sends mode and the test-mode level; a level implies mode=test, as the
// official SDKs send it.
func (cc compatConfig) setMode(q url.Values) {
	if cc.mode != "" {
		q.Set("mode", cc.mode)
	}
	if cc.level != "" {
		q.Set("test_mode_compatibility_level", cc.level)
		q.Set("mode", string(ModeTest))
	}
}

// appCall performs a call at Endpoint.APIOrigin authorised with the client id and
// secret (Basic, as the official SDKs send them: not form-encoded), on the
// *http.Client in ctx under oauth2.HTTPClient. The secret never reaches an error.
func (c *Config) appCall(ctx context.Context, cl call, out any) (Meta, error) {
	if c.ClientID == "" || c.ClientSecret == "" {
		return Meta{}, errors.New("smartcar: the Config has no ClientID or ClientSecret")
	}
	hc := http.DefaultClient
	if v, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok && v != nil {
		hc = v
	}
	basic := base64.StdEncoding.EncodeToString([]byte(c.ClientID + ":" + c.ClientSecret))
	cl.opts = append(cl.opts, WithHeader("Authorization", "Basic "+basic))
	meta, err := NewClient(hc, c.Endpoint.withDefaults().APIOrigin).do(ctx, cl, out)
	var scErr *Error
	if errors.As(err, &scErr) {
		scErr.redact(c.ClientSecret, basic)
	}
	return meta, err
}

// decodeCompatibility reads a by-VIN answer field by field: a field of an
// unexpected kind reads as its zero value, a capability that is not an object is
// skipped. Only a body that is not an object fails.
func decodeCompatibility(raw []byte) (*Compatibility, error) {
	o := object(raw)
	if o == nil {
		return nil, errors.New("smartcar: decoding compatibility: not a JSON object")
	}
	res := &Compatibility{Compatible: boolean(o["compatible"]), Reason: rawString(o["reason"]), Capabilities: []Capability{}}
	for _, it := range items(o["capabilities"]) {
		if c := object(it); c != nil {
			res.Capabilities = append(res.Capabilities, Capability{Permission: rawString(c["permission"]),
				Endpoint: rawString(c["endpoint"]), Capable: boolean(c["capable"]), Reason: rawString(c["reason"])})
		}
	}
	return res, nil
}

// decodeMatrix reads a matrix answer as decodeCompatibility reads its answer: each
// key whose value is a list is a make, each object of it a model.
func decodeMatrix(raw []byte) (*CompatibilityMatrix, error) {
	o := object(raw)
	if o == nil {
		return nil, errors.New("smartcar: decoding compatibility matrix: not a JSON object")
	}
	m := &CompatibilityMatrix{Makes: map[string][]Model{}}
	for mk, v := range o {
		list := items(v)
		if list == nil {
			continue // not a list: no make (Node's SDK adds "meta" here)
		}
		models := []Model{}
		for _, it := range list {
			e := object(it)
			if e == nil {
				continue
			}
			models = append(models, Model{Model: rawString(e["model"]), Type: rawString(e["type"]),
				StartYear: int(number(e["startYear"])), EndYear: int(number(e["endYear"])),
				Endpoints: stringList(e["endpoints"]), Permissions: stringList(e["permissions"])})
		}
		m.Makes[mk] = models
	}
	return m, nil
}

// stringList reads a list of strings, skipping entries that are not one.
func stringList(raw json.RawMessage) []string {
	out := []string{}
	for _, it := range items(raw) {
		var s string
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}
