package smartcar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrNotInBatch is returned by a BatchResponse accessor for a path the batch did
// not request, or that Smartcar left out of its answer.
var ErrNotInBatch = errors.New("smartcar: path not in batch response")

// BatchResponse holds the answers to a batch request, one per path. Its accessors
// (Odometer, Fuel, ...) return the typed result of one path, or that path's own
// failure as an *Error whose StatusCode is the item's code. It is safe for
// concurrent use.
type BatchResponse struct {
	// Meta is the batch request's own metadata (sc-request-id).
	Meta Meta

	header http.Header
	paths  []string
	items  map[string]batchItem
}

type batchItem struct {
	code   int
	header http.Header
	body   json.RawMessage
}

// Batch reads several endpoints of one vehicle in one request: POST .../batch with
// {"requests":[{"path":...}]}. paths are vehicle sub-paths such as PathOdometer
// ("/" is the attributes). The request succeeds when Smartcar answers at all; each
// path may still have failed, which its accessor reports. Units applies to every
// path.
func (c *Client) Batch(ctx context.Context, vehicleID string, paths []string, opts ...RequestOption) (*BatchResponse, error) {
	if len(paths) == 0 {
		return nil, errors.New("smartcar: batch without paths")
	}
	type request struct {
		Path string `json:"path"`
	}
	body := struct {
		Requests []request `json:"requests"`
	}{}
	for _, p := range paths {
		body.Requests = append(body.Requests, request{Path: normalizePath(p)})
	}
	p, err := vehiclePath(vehicleID, "/batch")
	if err != nil {
		return nil, err
	}
	var wire struct {
		Responses []struct {
			Path    string                     `json:"path"`
			Code    int                        `json:"code"`
			Headers map[string]json.RawMessage `json:"headers"`
			Body    json.RawMessage            `json:"body"`
		} `json:"responses"`
	}
	var header http.Header
	meta, err := c.do(ctx, call{method: http.MethodPost, path: p, body: body, opts: opts, header: &header}, &wire)
	if err != nil {
		return nil, err
	}
	r := &BatchResponse{Meta: meta, header: header, items: make(map[string]batchItem, len(wire.Responses))}
	for _, it := range wire.Responses {
		h := http.Header{}
		for k, v := range it.Headers {
			h.Set(k, rawString(v))
		}
		key := normalizePath(it.Path)
		if _, dup := r.items[key]; !dup {
			r.paths = append(r.paths, key)
		}
		r.items[key] = batchItem{code: it.Code, header: h, body: it.Body}
	}
	return r, nil
}

// normalizePath gives "/odometer" for "odometer", "/odometer/" and "/odometer", and
// "/" for "" so that lookups do not depend on how a path was spelt.
func normalizePath(p string) string {
	p = "/" + strings.Trim(p, "/")
	return p
}

// Paths lists the paths Smartcar answered, in its order.
func (r *BatchResponse) Paths() []string { return append([]string(nil), r.paths...) }

// Result decodes the answer for path into out (a pointer to the endpoint's result
// type) and returns its Meta: the batch's headers merged with the item's own. A
// failed item is returned as an *Error; a missing one as ErrNotInBatch.
func (r *BatchResponse) Result(path string, out any) (Meta, error) {
	it, ok := r.items[normalizePath(path)]
	if !ok {
		return Meta{}, fmt.Errorf("%w: %s", ErrNotInBatch, normalizePath(path))
	}
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	// The batch's own content type describes the envelope, not the item.
	h.Del("Content-Type")
	for k, v := range it.header {
		h[k] = v
	}
	meta := metaFrom(h)
	if it.code < 200 || it.code > 299 {
		return meta, decodeError(it.code, h, it.body)
	}
	if out != nil && len(it.body) > 0 && string(it.body) != "null" {
		if err := json.Unmarshal(it.body, out); err != nil {
			return meta, fmt.Errorf("smartcar: batch %s: decoding response: %w", normalizePath(path), err)
		}
	}
	return meta, nil
}

func batchResult[T any, P interface {
	*T
	result
}](r *BatchResponse, path string) (*T, error) {
	var v T
	meta, err := r.Result(path, &v)
	if err != nil {
		return nil, err
	}
	P(&v).setMeta(meta)
	return &v, nil
}

// Attributes returns the batch's answer for PathAttributes ("/").
func (r *BatchResponse) Attributes() (*Attributes, error) {
	return batchResult[Attributes](r, PathAttributes)
}

// VIN returns the batch's answer for PathVIN.
func (r *BatchResponse) VIN() (*VIN, error) { return batchResult[VIN](r, PathVIN) }

// Odometer returns the batch's answer for PathOdometer.
func (r *BatchResponse) Odometer() (*Odometer, error) { return batchResult[Odometer](r, PathOdometer) }

// Location returns the batch's answer for PathLocation.
func (r *BatchResponse) Location() (*Location, error) { return batchResult[Location](r, PathLocation) }

// Fuel returns the batch's answer for PathFuel.
func (r *BatchResponse) Fuel() (*Fuel, error) { return batchResult[Fuel](r, PathFuel) }

// Battery returns the batch's answer for PathBattery.
func (r *BatchResponse) Battery() (*Battery, error) { return batchResult[Battery](r, PathBattery) }

// BatteryCapacity returns the batch's answer for PathBatteryCapacity.
func (r *BatchResponse) BatteryCapacity() (*BatteryCapacity, error) {
	return batchResult[BatteryCapacity](r, PathBatteryCapacity)
}

// NominalCapacity returns the batch's answer for PathNominalCapacity.
func (r *BatchResponse) NominalCapacity() (*NominalCapacity, error) {
	return batchResult[NominalCapacity](r, PathNominalCapacity)
}

// Charge returns the batch's answer for PathCharge.
func (r *BatchResponse) Charge() (*Charge, error) { return batchResult[Charge](r, PathCharge) }

// ChargeLimit returns the batch's answer for PathChargeLimit.
func (r *BatchResponse) ChargeLimit() (*ChargeLimit, error) {
	return batchResult[ChargeLimit](r, PathChargeLimit)
}

// EngineOil returns the batch's answer for PathEngineOil.
func (r *BatchResponse) EngineOil() (*EngineOil, error) {
	return batchResult[EngineOil](r, PathEngineOil)
}

// TirePressure returns the batch's answer for PathTirePressure.
func (r *BatchResponse) TirePressure() (*TirePressure, error) {
	return batchResult[TirePressure](r, PathTirePressure)
}

// LockStatus returns the batch's answer for PathLockStatus.
func (r *BatchResponse) LockStatus() (*LockStatus, error) {
	return batchResult[LockStatus](r, PathLockStatus)
}

// ServiceHistory returns the batch's answer for PathServiceHistory.
func (r *BatchResponse) ServiceHistory() (*ServiceHistory, error) {
	return batchResult[ServiceHistory](r, PathServiceHistory)
}

// DiagnosticSystemStatus returns the batch's answer for PathDiagnosticSystemStatus.
func (r *BatchResponse) DiagnosticSystemStatus() (*DiagnosticSystemStatus, error) {
	return batchResult[DiagnosticSystemStatus](r, PathDiagnosticSystemStatus)
}

// DiagnosticTroubleCodes returns the batch's answer for PathDiagnosticTroubleCodes.
func (r *BatchResponse) DiagnosticTroubleCodes() (*DiagnosticTroubleCodes, error) {
	return batchResult[DiagnosticTroubleCodes](r, PathDiagnosticTroubleCodes)
}

// Permissions returns the batch's answer for PathPermissions (its first page).
func (r *BatchResponse) Permissions() (*PermissionPage, error) {
	return batchResult[PermissionPage](r, PathPermissions)
}
