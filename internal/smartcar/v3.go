package smartcar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// V3Client calls Smartcar's vehicle API v3 (paths under /v3): the vehicle, its
// signals and its commands. It has Client's fields (MaxRetryAfter) and behaviour:
// every refusal is an *Error, a short 429 is retried once, a timeout wraps
// ErrTimeout. It is safe for concurrent use; set its fields before the first call.
//
// Its *http.Client authorises the requests: with a user's Connect token, or with
// the application token (Config.AppTokenSource), in which case every call needs
// the UserID option. Config.V3Client builds either.
type V3Client Client

// NewV3Client returns a client for the v3 API at v3Origin (scheme://host[:port],
// such as "https://vehicle.api.smartcar.com"). hc must authorise the requests
// itself, for example a client from Config.V3Client's construction or
// oauth2.NewClient; hc's Timeout bounds each request.
func NewV3Client(hc *http.Client, v3Origin string) *V3Client {
	return (*V3Client)(NewClient(hc, v3Origin))
}

// do performs a v3 call: Client.do with the v3 error marking.
func (c *V3Client) do(ctx context.Context, cl call, out any) (Meta, error) {
	cl.v3 = true
	return (*Client)(c).do(ctx, cl, out)
}

// v3VehiclePath returns /v3/vehicles/{id}{sub}.
func v3VehiclePath(vehicleID, sub string) (string, error) {
	if vehicleID == "" {
		return "", errors.New("smartcar: empty vehicle id")
	}
	return "/v3/vehicles/" + url.PathEscape(vehicleID) + sub, nil
}

// Vehicle is a vehicle as API v3 describes it.
type Vehicle struct {
	ID    string // the vehicle id, as in v2.0
	Make  string // brand, such as "TESLA"
	Model string // such as "Model 3"
	Year  int    // model year
	// PowertrainType is "BEV", "PHEV", "HEV" or "ICE", when Smartcar says.
	PowertrainType string
	// Mode is the mode the vehicle was connected in: live, test or simulated.
	Mode Mode
	Meta Meta // metadata of the response
}

// Vehicle returns a vehicle's make, model, year and powertrain: GET
// /v3/vehicles/{id} (no permission needed).
func (c *V3Client) Vehicle(ctx context.Context, vehicleID string, opts ...RequestOption) (*Vehicle, error) {
	p, err := v3VehiclePath(vehicleID, "")
	if err != nil {
		return nil, err
	}
	var raw json.RawMessage
	meta, err := c.do(ctx, call{method: http.MethodGet, path: p, opts: opts}, &raw)
	if err != nil {
		return nil, err
	}
	v := decodeVehicle(resourceOf(raw))
	v.Meta = meta
	return v, nil
}

// decodeVehicle reads a vehicle resource field by field.
func decodeVehicle(res map[string]json.RawMessage) *Vehicle {
	attrs := object(res["attributes"])
	return &Vehicle{
		ID:             rawString(res["id"]),
		Make:           rawString(attrs["make"]),
		Model:          rawString(attrs["model"]),
		Year:           int(number(attrs["year"])),
		PowertrainType: rawString(attrs["powertrainType"]),
		Mode:           Mode(rawString(attrs["mode"])),
	}
}

// resourceOf returns the JSON:API resource of a v3 document: the top level when
// it carries the attributes (where the official SDKs read them), else "data"
// (where Smartcar's reference shows them). Smartcar's answers have both.
func resourceOf(doc []byte) map[string]json.RawMessage {
	top := object(doc)
	if _, ok := top["attributes"]; ok {
		return top
	}
	if data := object(top["data"]); data != nil {
		return data
	}
	return top
}

// object decodes a JSON object; anything else gives nil.
func object(raw []byte) map[string]json.RawMessage {
	var o map[string]json.RawMessage
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	return o
}

// number reads a JSON number, or a string holding one; anything else gives 0.
func number(raw json.RawMessage) float64 {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
	return 0
}

// boolean reads a JSON boolean, or the string "true" or "false".
func boolean(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	b, _ = strconv.ParseBool(rawString(raw))
	return b
}

// flexTime reads a v3 time: epoch milliseconds (a number, or a string of digits),
// as the API reference and the SDKs have it, or an ISO-8601 string, as recorded
// live answers carry. Anything else gives the zero time.
func flexTime(raw json.RawMessage) time.Time {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}
	}
	var ms float64
	if raw[0] != '"' {
		if json.Unmarshal(raw, &ms) == nil && ms > 0 && ms < 1e15 {
			return time.UnixMilli(int64(ms)).UTC()
		}
		return time.Time{}
	}
	s := rawString(raw)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > 0 && n < 1e15 {
			return time.UnixMilli(n).UTC()
		}
		return time.Time{}
	}
	return parseTime(s)
}

// Command execution statuses (CommandExecution.Status).
const (
	CommandSuccess    = "SUCCESS"
	CommandInProgress = "IN_PROGRESS"
)

// CommandExecution is Smartcar's record of a v3 command: how it ran, not the new
// state of the vehicle (read the signals for that).
type CommandExecution struct {
	// ID identifies the execution for CommandExecution.
	ID string
	// CommandType names the command, such as "security-lock" or "charge-set-limit".
	CommandType string
	// Status is CommandSuccess, CommandInProgress while the vehicle still works on
	// it, or another status Smartcar names.
	Status string
	// Err is the execution's own error, when its status carries one.
	Err *Error
	// ExecutionMode is "sync" (done when answered) or "async" (still running).
	ExecutionMode string
	// Parameters are the command's parameters as Smartcar echoes them (set-limit's
	// {"percent": 80}); nil when there are none.
	Parameters json.RawMessage
	// ExecutedAt is when Smartcar sent the command; CompletedAt when it completed
	// (zero while it runs).
	ExecutedAt, CompletedAt time.Time
	// StatusCode is the HTTP status of the answer: 200, or 202 while the command is
	// still running (which is not an error).
	StatusCode int
	Meta       Meta // metadata of the response
}

// Running reports whether the command had not completed when Smartcar answered.
func (x *CommandExecution) Running() bool {
	return x.Status == CommandInProgress || (x.Status == "" && x.StatusCode == http.StatusAccepted)
}

// command sends POST /v3/vehicles/{id}/commands/{sub}.
func (c *V3Client) command(ctx context.Context, vehicleID, sub string, body any, opts []RequestOption) (*CommandExecution, error) {
	p, err := v3VehiclePath(vehicleID, "/commands/"+sub)
	if err != nil {
		return nil, err
	}
	return c.execution(ctx, call{method: http.MethodPost, path: p, body: body, opts: opts})
}

// execution performs cl and reads the command execution it answers.
func (c *V3Client) execution(ctx context.Context, cl call) (*CommandExecution, error) {
	var raw json.RawMessage
	var status int
	var header http.Header
	cl.status, cl.header = &status, &header
	meta, err := c.do(ctx, cl, &raw)
	if err != nil {
		return nil, err
	}
	x := decodeExecution(resourceOf(raw), header)
	x.StatusCode, x.Meta = status, meta
	return x, nil
}

// decodeExecution reads a command-execution resource field by field.
func decodeExecution(res map[string]json.RawMessage, header http.Header) *CommandExecution {
	attrs, meta := object(res["attributes"]), object(res["meta"])
	st := object(attrs["status"])
	x := &CommandExecution{
		ID:            rawString(res["id"]),
		CommandType:   rawString(attrs["commandType"]),
		Status:        rawString(st["value"]),
		ExecutionMode: rawString(attrs["executionMode"]),
		ExecutedAt:    flexTime(meta["executedAt"]),
		CompletedAt:   flexTime(meta["completedAt"]),
	}
	if x.Status == "" {
		x.Status = rawString(attrs["status"]) // a bare string
	}
	if p := bytes.TrimSpace(attrs["parameters"]); len(p) > 0 && string(p) != "null" {
		x.Parameters = p
	}
	if e := bytes.TrimSpace(st["error"]); len(e) > 0 && e[0] == '{' {
		x.Err = decodeError(0, header, e)
	}
	return x
}

// Lock locks the vehicle: POST .../commands/security/lock (permission
// control_security).
func (c *V3Client) Lock(ctx context.Context, vehicleID string, opts ...RequestOption) (*CommandExecution, error) {
	return c.command(ctx, vehicleID, "security/lock", nil, opts)
}

// Unlock unlocks the vehicle: POST .../commands/security/unlock (permission
// control_security).
func (c *V3Client) Unlock(ctx context.Context, vehicleID string, opts ...RequestOption) (*CommandExecution, error) {
	return c.command(ctx, vehicleID, "security/unlock", nil, opts)
}

// StartCharge starts charging: POST .../commands/charge/start (permission
// control_charge).
func (c *V3Client) StartCharge(ctx context.Context, vehicleID string, opts ...RequestOption) (*CommandExecution, error) {
	return c.command(ctx, vehicleID, "charge/start", nil, opts)
}

// StopCharge stops charging: POST .../commands/charge/stop (permission
// control_charge).
func (c *V3Client) StopCharge(ctx context.Context, vehicleID string, opts ...RequestOption) (*CommandExecution, error) {
	return c.command(ctx, vehicleID, "charge/stop", nil, opts)
}

// SetChargeLimit sets the state of charge at which charging stops, in percent (v3
// speaks percent where v2.0 takes a fraction): POST .../commands/charge/set-limit
// {"data": {"attributes": {"percent": p}}} (permission control_charge). A percent
// outside (0, 100] is refused before any request.
func (c *V3Client) SetChargeLimit(ctx context.Context, vehicleID string, percent float64, opts ...RequestOption) (*CommandExecution, error) {
	if !(percent > 0 && percent <= 100) {
		return nil, fmt.Errorf("smartcar: charge limit %v%% is not in (0, 100]", percent)
	}
	type attributes struct {
		Percent float64 `json:"percent"`
	}
	type data struct {
		Attributes attributes `json:"attributes"`
	}
	body := struct {
		Data data `json:"data"`
	}{data{attributes{percent}}}
	return c.command(ctx, vehicleID, "charge/set-limit", body, opts)
}

// CommandExecution reads a command's execution again, for example to see a command
// that answered 202 complete: GET /v3/vehicles/{id}/command-executions/{executionID}.
func (c *V3Client) CommandExecution(ctx context.Context, vehicleID, executionID string, opts ...RequestOption) (*CommandExecution, error) {
	if executionID == "" {
		return nil, errors.New("smartcar: empty command execution id")
	}
	p, err := v3VehiclePath(vehicleID, "/command-executions/"+url.PathEscape(executionID))
	if err != nil {
		return nil, err
	}
	return c.execution(ctx, call{method: http.MethodGet, path: p, opts: opts})
}
