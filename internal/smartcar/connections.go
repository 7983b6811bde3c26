package smartcar

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// connectionsPath is the v2.0 management API's list of connections.
const connectionsPath = "/" + apiVersion + "/management/connections"

// Connection is a vehicle a user connected to the application (through Connect)
// and has not disconnected.
type Connection struct {
	UserID    string // the user_id of Connect's redirect
	VehicleID string
	// ConnectedAt is when the user connected the vehicle; zero in the answer of
	// DeleteConnections, which does not say.
	ConnectedAt time.Time
	// Mode is the mode the vehicle was connected in, when Smartcar says.
	Mode Mode
}

// ConnectionFilter selects connections: those of a vehicle, of a user, or both
// (that user's vehicle). Empty fields select everything.
type ConnectionFilter struct {
	VehicleID string
	UserID    string
	// Mode keeps the list (ConnectionPage, Connections) to one mode; Smartcar's
	// newer reference has it, the official SDKs do not send it. DeleteConnections
	// ignores it.
	Mode Mode
}

func (f ConnectionFilter) query(withMode bool) url.Values {
	q := url.Values{}
	if f.VehicleID != "" {
		q.Set("vehicle_id", f.VehicleID)
	}
	if f.UserID != "" {
		q.Set("user_id", f.UserID)
	}
	if withMode && f.Mode != "" {
		q.Set("mode", string(f.Mode))
	}
	return q
}

// ConnectionPage is one page of the application's connections.
type ConnectionPage struct {
	// Connections are this page's, newest first.
	Connections []Connection
	// Cursor asks ConnectionPage for the next page; empty on the last one.
	Cursor string
}

// ConnectionPage reads one page of the application's connections, newest first:
// GET /v2.0/management/connections?vehicle_id&user_id&mode&limit&cursor. A limit of
// 0 or less leaves the page size to Smartcar (10; at most 100); cursor is the
// previous page's Cursor, "" for the first page.
func (m *Management) ConnectionPage(ctx context.Context, f ConnectionFilter, limit int, cursor string) (*ConnectionPage, error) {
	q := f.query(true)
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	var raw json.RawMessage
	if _, err := m.v2.do(ctx, call{method: http.MethodGet, path: connectionsPath, query: q, opts: []RequestOption{m.basic}}, &raw); err != nil {
		return nil, err
	}
	return decodeConnections(raw)
}

// Connections iterates over the application's connections that f selects, newest
// first, following the pages (limit a page, as for ConnectionPage). A failed
// request ends the iteration with (Connection{}, err). It stops too when a page
// repeats a cursor or brings nothing, so a server that never advances cannot make
// it loop.
//
//	for c, err := range mgmt.Connections(ctx, smartcar.ConnectionFilter{UserID: id}, 0) {
//		if err != nil {
//			return err
//		}
//		...
//	}
func (m *Management) Connections(ctx context.Context, f ConnectionFilter, limit int) iter.Seq2[Connection, error] {
	return func(yield func(Connection, error) bool) {
		seen := map[string]bool{}
		for cursor := ""; ; {
			p, err := m.ConnectionPage(ctx, f, limit, cursor)
			if err != nil {
				yield(Connection{}, err)
				return
			}
			for _, c := range p.Connections {
				if !yield(c, nil) {
					return
				}
			}
			if p.Cursor == "" || len(p.Connections) == 0 || seen[p.Cursor] {
				return
			}
			seen[p.Cursor] = true
			cursor = p.Cursor
		}
	}
}

// DeleteConnections disconnects the connections f selects (a vehicle from every
// user, every vehicle of a user, or, with both, that user's vehicle) and returns
// them: DELETE /v2.0/management/connections?vehicle_id|user_id. Their tokens no
// longer reach those vehicles. A filter with neither is refused before any request:
// it would name every connection. Nothing matching is not an error.
func (m *Management) DeleteConnections(ctx context.Context, f ConnectionFilter) ([]Connection, error) {
	if f.VehicleID == "" && f.UserID == "" {
		return nil, errors.New("smartcar: DeleteConnections needs a vehicle id or a user id")
	}
	var raw json.RawMessage
	if _, err := m.v2.do(ctx, call{method: http.MethodDelete, path: connectionsPath, query: f.query(false), opts: []RequestOption{m.basic}}, &raw); err != nil {
		return nil, err
	}
	p, err := decodeConnections(raw)
	if err != nil {
		return nil, err
	}
	return p.Connections, nil
}

// decodeConnections reads {"connections": [...], "paging": {"cursor"}} field by
// field: an entry that is not an object is skipped, a field of an unexpected kind
// reads as its zero value. Only a body that is not an object fails.
func decodeConnections(raw []byte) (*ConnectionPage, error) {
	o := object(raw)
	if o == nil {
		return nil, errors.New("smartcar: decoding connections: not a JSON object")
	}
	p := &ConnectionPage{Connections: []Connection{}, Cursor: rawString(object(o["paging"])["cursor"])}
	for _, it := range items(o["connections"]) {
		if c := object(it); c != nil {
			p.Connections = append(p.Connections, Connection{UserID: rawString(c["userId"]), VehicleID: rawString(c["vehicleId"]),
				ConnectedAt: parseTime(rawString(c["connectedAt"])), Mode: Mode(rawString(c["mode"]))})
		}
	}
	return p, nil
}
