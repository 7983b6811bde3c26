package sandbox

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"smartcargo/internal/sandbox/apiv3"
	"smartcargo/internal/sandbox/journal"
	"smartcargo/internal/sandbox/webhooks"
)

// The webhook sender (internal/sandbox/webhooks) reads the sandbox's vehicles through
// hooksBackend: a subscribed vehicle is read as the v3 API reads it (the same signal
// schema and values at one instant), through the latest approval that reaches it.

// hooksBackend is the sandbox as the webhook sender sees it (webhooks.Backend).
type hooksBackend struct{ s *server }

var _ webhooks.Backend = hooksBackend{}

func (b hooksBackend) Now() time.Time                      { return b.s.now() }
func (b hooksBackend) RequestID(r *http.Request) string    { return requestID(r.Context()) }
func (b hooksBackend) Error(typ, code string) *apiv3.Error { return toV3(newAPIError(typ, code)) }
func (b hooksBackend) Changed() {
	if b.s.persist != nil {
		b.s.persist.changed()
	}
}

// Read reads a connected vehicle (not disconnected from its latest approval) at one
// instant, as its v3 signals.
func (b hooksBackend) Read(vehicleID string, codes []string) (webhooks.Reading, bool) {
	s := b.s
	cv, err := backend{s}.find(vehicleID)
	if err != nil {
		return webhooks.Reading{}, false
	}
	if _, ok := s.store.grantedVehicle(cv.g, cv.v.ID); !ok {
		return webhooks.Reading{}, false
	}
	v3b := v3Backend{s}
	av := v3b.vehicleOf(cv.g, cv.v)
	rd := webhooks.Reading{Vehicle: webhooks.Vehicle{ID: cv.v.ID, Make: cv.v.Make, Model: cv.v.Model, Year: cv.v.Year},
		UserID: cv.g.UserID, Mode: strings.ToUpper(av.Mode), Live: av.Mode == modeSimulated}
	if cv.v.ErrType != "" {
		e := newAPIError(cv.v.ErrType, cv.v.ErrCode)
		rd.Error = &webhooks.VehicleError{Type: e.Type, Code: e.Code, Description: e.Description,
			Suggested: e.Suggested, Resolution: e.Resolution}
		return rd, true
	}
	if len(codes) == 0 {
		return rd, true
	}
	st, err := v3b.stateOf(v3b.callAt(av, instant{now: s.now(), sim: s.clock.simNow()}))
	if err != nil {
		return rd, true // only error accounts fail, handled above
	}
	for _, ws := range s.v3.WebhookSignals(av, st, codes) {
		j, err := webhooks.Marshal(ws)
		if err != nil {
			continue
		}
		val, _ := webhooks.Marshal(struct {
			Body   any `json:"body"`
			Status any `json:"status"`
		}{ws.Body, ws.Status})
		rd.Signals = append(rd.Signals, webhooks.Signal{Code: ws.Code, Name: ws.Name, Group: ws.Group, JSON: j, Value: string(val)})
	}
	return rd, true
}

// Record journals an outgoing call: direction "out", its URL, status and latency,
// the payload and the answer as they were (they hold no credentials; the journal's
// redaction would hide every signal's "code").
func (b hooksBackend) Record(c webhooks.Call) {
	path, query := c.URL, ""
	if u, err := url.Parse(c.URL); err == nil {
		path, query = u.EscapedPath(), u.RawQuery
	}
	b.s.journal.Add(journal.Entry{
		Time: c.Time, Direction: journal.Outgoing, Method: http.MethodPost, URL: c.URL, Path: path, Query: query,
		VehicleID: c.VehicleID, Status: c.Status, Error: c.Error, Duration: c.Duration,
		RequestHeaders: journal.RedactHeaders(c.Header), ResponseHeaders: journal.RedactHeaders(c.RespHead),
		RequestBody: string(c.Body), ResponseBody: string(c.RespBody),
	})
}

// webhookTick is how often, in real time, the sender reads subscribed simulated
// vehicles for changes: a simulated minute (at least a second).
func webhookTick(speed float64) time.Duration {
	if speed < 1 {
		speed = 1
	}
	return max(time.Second, time.Duration(float64(time.Minute)/speed))
}

// ManagementToken is the default client's application management token: given in
// Options.ManagementToken, or generated (and kept with the state in DataDir).
// Payloads are signed with it and the management APIs take it.
func (srv *Server) ManagementToken() string { return srv.s.hooks.Token() }

// ManagementTokens are every client's application management tokens, by client id
// (the default client's is ManagementToken).
func (srv *Server) ManagementTokens() map[string]string {
	out := map[string]string{}
	for _, c := range srv.s.amts {
		if c.clientID != "" {
			out[c.clientID] = c.token
		}
	}
	return out
}
