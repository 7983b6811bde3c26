package apiv3

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

// commandNeeds is the permission and the vehicle feature each command needs.
var commandNeeds = map[string]struct {
	permission string
	needs      feature
}{
	CommandLock:           {"control_security", anyVehicle},
	CommandUnlock:         {"control_security", anyVehicle},
	CommandStartCharge:    {"control_charge", needsBattery},
	CommandStopCharge:     {"control_charge", needsBattery},
	CommandSetChargeLimit: {"control_charge", needsBattery},
}

// command handles POST /vehicles/{id}/commands/...: permission, capability, body,
// then the backend acts on the vehicle. A command that completed answers 200 with a
// sync execution; one the backend says is still running answers 202 with an async
// execution, whose GET shows SUCCESS once it has run its time.
func (h *Handler) command(typ string) handler {
	return func(w http.ResponseWriter, r *http.Request, v *Vehicle) (int, any, error) {
		need := commandNeeds[typ]
		if !v.has(need.permission) {
			return 0, nil, h.b.Error("PERMISSION", "")
		}
		if !v.capable(need.needs) {
			return 0, nil, h.b.Error("COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
		}
		c := Command{Type: typ}
		var params any
		if typ == CommandSetChargeLimit {
			p, err := h.limitPercent(r)
			if err != nil {
				return 0, nil, err
			}
			c.LimitPercent, params = p, limitParams{Percent: p}
		}
		running, err := h.b.Command(r, v, c)
		if err != nil {
			return 0, nil, err
		}
		now := h.b.Now()
		x := h.execs.add(execution{ID: newExecutionID(), VehicleID: v.ID, CommandType: typ, Parameters: params,
			ExecutedAt: now, CompletedAt: now.Add(max(running, 0)), Async: running > 0})
		status := http.StatusOK
		if x.Async {
			status = http.StatusAccepted
		}
		return status, executionDocument{Data: x.resource(r, now)}, nil
	}
}

type limitParams struct {
	Percent float64 `json:"percent"`
}

// limitPercent reads set-limit's {"data": {"attributes": {"percent": 80}}}: a JSON
// number, or a string holding one, finite and in (0, 100].
func (h *Handler) limitPercent(r *http.Request) (float64, error) {
	bad := func(msg string) (float64, error) {
		return 0, h.b.Error("VALIDATION", "PARAMETER").withDetail("data.attributes.percent", msg)
	}
	b, err := io.ReadAll(r.Body) // the sandbox caps API bodies before this
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e := h.b.Error("VALIDATION", "")
			e.Status = http.StatusRequestEntityTooLarge
			return 0, e.withDetail("body", "the request body is too large")
		}
		return bad("the request body could not be read")
	}
	var body struct {
		Data struct {
			Attributes struct {
				Percent json.RawMessage `json:"percent"`
			} `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		return bad(`the body must be {"data": {"attributes": {"percent": <number>}}}`)
	}
	raw := body.Data.Attributes.Percent
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var p *float64
	if err := json.Unmarshal(raw, &p); err != nil || p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) || *p <= 0 || *p > 100 {
		return bad("percent must be a number greater than 0 and at most 100")
	}
	return *p, nil
}

// getExecution is GET /vehicles/{id}/command-executions/{executionId}: a command this
// vehicle was sent, SUCCESS once it has run its time.
func (h *Handler) getExecution(w http.ResponseWriter, r *http.Request, v *Vehicle) (int, any, error) {
	x, ok := h.execs.get(chi.URLParam(r, "executionID"))
	if !ok || x.VehicleID != v.ID {
		return 0, nil, h.b.Error("RESOURCE_NOT_FOUND", "PATH")
	}
	return http.StatusOK, executionDocument{Data: x.resource(r, h.b.Now())}, nil
}

// execution is one command sent to a vehicle.
type execution struct {
	ID, VehicleID, CommandType string
	Parameters                 any
	ExecutedAt, CompletedAt    time.Time
	Async                      bool // answered 202: still running when answered
}

type executionDocument struct {
	Data executionResource `json:"data"`
}

type executionResource struct {
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	Attributes executionAttributes `json:"attributes"`
	Meta       executionMeta       `json:"meta"`
	Links      selfLink            `json:"links"`
}

type executionAttributes struct {
	CommandType   string  `json:"commandType"`
	Status        valueOf `json:"status"`
	ExecutionMode string  `json:"executionMode"`
	Parameters    any     `json:"parameters,omitempty"`
}

type valueOf struct {
	Value string `json:"value"`
}

type executionMeta struct {
	ExecutedAt        string `json:"executedAt"`
	CompletedAt       string `json:"completedAt,omitempty"`
	DurationInSeconds *int   `json:"durationInSeconds,omitempty"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// resource is the execution as seen at now: IN_PROGRESS until it completes.
func (x execution) resource(r *http.Request, now time.Time) executionResource {
	mode := "sync"
	if x.Async {
		mode = "async"
	}
	res := executionResource{ID: x.ID, Type: "command-execution",
		Attributes: executionAttributes{CommandType: x.CommandType, Status: valueOf{"IN_PROGRESS"}, ExecutionMode: mode, Parameters: x.Parameters},
		Meta:       executionMeta{ExecutedAt: isoTime(x.ExecutedAt)},
		Links:      selfLink{Self: vehicleURL(r, x.VehicleID) + "/command-executions/" + x.ID}}
	if !now.Before(x.CompletedAt) {
		d := int(x.CompletedAt.Sub(x.ExecutedAt).Round(time.Second) / time.Second)
		res.Attributes.Status = valueOf{"SUCCESS"}
		res.Meta.CompletedAt, res.Meta.DurationInSeconds = isoTime(x.CompletedAt), &d
	}
	return res
}

func newExecutionID() string {
	var b [12]byte
	rand.Read(b[:]) // never fails
	return "exec_" + hex.EncodeToString(b[:])
}

// maxExecutions bounds the executions kept for GET (the oldest are forgotten).
const maxExecutions = 1000

// executions keeps the latest commands in memory (they do not survive a restart).
type executions struct {
	mu    sync.Mutex
	max   int
	byID  map[string]execution
	order []string
}

func newExecutions(max int) *executions {
	return &executions{max: max, byID: map[string]execution{}}
}

func (e *executions) add(x execution) execution {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.order) >= e.max {
		delete(e.byID, e.order[0])
		e.order = e.order[1:]
	}
	e.byID[x.ID] = x
	e.order = append(e.order, x.ID)
	return x
}

func (e *executions) get(id string) (execution, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.byID[id]
	return x, ok
}
