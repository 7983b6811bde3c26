package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Smartcar's v2 management API (management.smartcar.com/v2.0/management/connections;
// the SDKs take the origin from SMARTCAR_MANAGEMENT_API_ORIGIN, here the sandbox's own)
// and the application management tokens (AMT) that authenticate it, the v2
// unsubscribe and the v3 webhook API. Every client has one: the default client (the
// first registered) has Options.ManagementToken, which also signs webhook payloads;
// every other client gets a generated one. Routes check the token before anything
// else, so a wrong one is 401 AUTHENTICATION whatever the parameters.

// Management connection paging: Smartcar's documented default and maximum.
const (
	defaultConnectionsPage = 10
	maxConnectionsPage     = 100
)

// clientAMT is one client's application management token.
type clientAMT struct{ clientID, token string }

// managementTokens assigns every client its token: the default client (the first
// registered, or none) the webhook sender's, the others the one kept in the snapshot
// or a fresh one.
func managementTokens(defaultClient, defaultToken string, others []string, kept map[string]string) []clientAMT {
	out := []clientAMT{{defaultClient, defaultToken}}
	for _, id := range others {
		tok := kept[id]
		if tok == "" {
			tok = newID()
		}
		out = append(out, clientAMT{id, tok})
	}
	return out
}

// clientOfAMT returns the client whose management token amt is. Every token is
// compared (in constant time), so the answer's timing says nothing about which
// one nearly matched.
func (s *server) clientOfAMT(amt string) (string, bool) {
	client, ok := "", false
	for _, c := range s.amts {
		if subtle.ConstantTimeCompare([]byte(amt), []byte(c.token)) == 1 && amt != "" {
			client, ok = c.clientID, true
		}
	}
	return client, ok
}

// amtOf returns a client's management token.
func (s *server) amtOf(clientID string) string {
	for _, c := range s.amts {
		if c.clientID == clientID {
			return c.token
		}
	}
	return ""
}

// basicAMT reads Authorization: Basic base64("default:" + AMT), as the management
// API takes it; the user name must be "default" (the documented format).
func (s *server) basicAMT(r *http.Request) (string, bool) {
	scheme, enc, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return "", false
	}
	user, amt, ok := strings.Cut(string(raw), ":")
	if !ok || user != "default" {
		return "", false
	}
	return s.clientOfAMT(amt)
}

// bearerAMT reads Authorization: Bearer <AMT>, as the v2 unsubscribe takes it.
func (s *server) bearerAMT(r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return s.clientOfAMT(strings.TrimSpace(tok))
}

// connection is one vehicle a user connected to an app (and has not disconnected).
type connection struct {
	UserID, VehicleID, Mode string
	ConnectedAt             time.Time
}

// before orders connections newest first; ties by user, then vehicle id.
func (c connection) before(o connection) bool {
	if !c.ConnectedAt.Equal(o.ConnectedAt) {
		return c.ConnectedAt.After(o.ConnectedAt)
	}
	if c.UserID != o.UserID {
		return c.UserID < o.UserID
	}
	return c.VehicleID < o.VehicleID
}

func compareConnections(a, b connection) int {
	switch {
	case a.before(b):
		return -1
	case b.before(a):
		return 1
	}
	return 0
}

// connectionsLocked lists what Connect approvals gave the app: each vehicle of the users'
// latest approvals (the console's users) that is not disconnected, newest first. The
// caller holds mu.
func (s *store) connectionsLocked(clientID string) []connection {
	seen := map[[2]string]bool{}
	var out []connection
	for _, g := range s.grants {
		if g.ClientID != clientID {
			continue
		}
		for _, v := range g.Vehicles {
			k := [2]string{g.UserID, v.ID}
			if g.revoked[v.ID] || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, connection{UserID: g.UserID, VehicleID: v.ID, Mode: g.Mode, ConnectedAt: g.Created})
		}
	}
	slices.SortFunc(out, compareConnections)
	return out
}

func (s *store) connections(clientID string) []connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectionsLocked(clientID)
}

// deleteConnections disconnects the app's connections that match (a user, a vehicle,
// or both) and returns them. Every approval of that user for that app loses the
// vehicle, so no token reaches it any more (v2 and v3); tokens whose approval is left
// with no vehicle are forgotten (every call with them is 401, a refresh
// invalid_grant), with their unused codes; a user left with no connection to the app
// is asked to approve again on the next Connect (approval_prompt=auto does not skip it).
func (s *store) deleteConnections(clientID, userID, vehicleID string) []connection {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []connection
	for _, c := range s.connectionsLocked(clientID) {
		if (userID == "" || c.UserID == userID) && (vehicleID == "" || c.VehicleID == vehicleID) {
			gone = append(gone, c)
		}
	}
	if len(gone) == 0 {
		return gone
	}
	hit := func(g *grant, c connection) bool { return g.ClientID == clientID && g.UserID == c.UserID }
	revoke := func(g *grant) {
		for _, c := range gone {
			if hit(g, c) && g.hasVehicle(c.VehicleID) {
				g.disconnect(c.VehicleID)
			}
		}
	}
	empty := func(g *grant) bool {
		return !slices.ContainsFunc(g.Vehicles, func(v *vehicle) bool { return !g.revoked[v.ID] })
	}
	touched := func(g *grant) bool {
		return slices.ContainsFunc(gone, func(c connection) bool { return hit(g, c) })
	}
	for _, g := range s.grants {
		revoke(g)
	}
	for k, at := range s.access {
		if revoke(at.Grant); touched(at.Grant) && empty(at.Grant) {
			delete(s.access, k)
		}
	}
	for k, rt := range s.refresh {
		if revoke(rt.Grant); touched(rt.Grant) && empty(rt.Grant) {
			delete(s.refresh, k)
		}
	}
	for k, ac := range s.codes {
		if revoke(ac.Grant); touched(ac.Grant) && empty(ac.Grant) {
			delete(s.codes, k)
		}
	}
	left := s.connectionsLocked(clientID)
	for _, c := range gone {
		if slices.ContainsFunc(left, func(l connection) bool { return l.UserID == c.UserID }) {
			continue
		}
		prefix := clientID + "\x00" + c.UserID + "\x00"
		for k := range s.approvals {
			if strings.HasPrefix(k, prefix) {
				delete(s.approvals, k)
			}
		}
	}
	return gone
}

// connectionBody is a connection on the wire. DELETE leaves out connectedAt and mode,
// as Smartcar's reference shows it (the Python SDK reads connectedAt as None there).
type connectionBody struct {
	UserID      string `json:"userId"`
	VehicleID   string `json:"vehicleId"`
	ConnectedAt string `json:"connectedAt,omitempty"`
	Mode        string `json:"mode,omitempty"`
}

// connectionFilter reads user_id, vehicle_id (UUIDs when given) and mode.
func connectionFilter(r *http.Request) (userID, vehicleID, mode string, err error) {
	q := r.URL.Query()
	userID, vehicleID = strings.ToLower(q.Get("user_id")), strings.ToLower(q.Get("vehicle_id"))
	if userID != "" && !isUUID(userID) {
		return "", "", "", errValidation("user_id", "user_id must be a UUID")
	}
	if vehicleID != "" && !isUUID(vehicleID) {
		return "", "", "", errValidation("vehicle_id", "vehicle_id must be a UUID")
	}
	switch mode = strings.ToLower(q.Get("mode")); mode {
	case "", "live", modeTest, modeSimulated:
	default:
		return "", "", "", errValidation("mode", "mode must be one of live, simulated, test")
	}
	return userID, vehicleID, mode, nil
}

// cursor is where the next page starts: after the connection it names. It is opaque
// to clients (base64url of the last connection's time, user and vehicle), and stays
// valid when connections come and go before it.
func cursorOf(c connection) string {
	raw := strconv.FormatInt(c.ConnectedAt.UnixNano(), 10) + "|" + c.UserID + "|" + c.VehicleID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseCursor(s string) (connection, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return connection{}, false
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || !isUUID(parts[1]) || !isUUID(parts[2]) {
		return connection{}, false
	}
	ns, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return connection{}, false
	}
	return connection{ConnectedAt: time.Unix(0, ns), UserID: parts[1], VehicleID: parts[2]}, true
}

// handleGetConnections is GET /v2.0/management/connections?user_id&vehicle_id&mode&limit&cursor:
// the app's connections, newest first, limit (default 10, at most 100) at a time;
// paging.cursor names the next page, null on the last.
func (s *server) handleGetConnections(w http.ResponseWriter, r *http.Request) error {
	clientID, ok := s.basicAMT(r)
	if !ok {
		return errAuthentication()
	}
	note(r.Context()).clientID = clientID
	userID, vehicleID, mode, err := connectionFilter(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := defaultConnectionsPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errValidation("limit", "limit must be a positive integer")
		}
		limit = min(n, maxConnectionsPage)
	}
	var after *connection
	if v := q.Get("cursor"); v != "" {
		c, ok := parseCursor(v)
		if !ok {
			return errValidation("cursor", "cursor must be the paging.cursor of a previous page")
		}
		after = &c
	}
	page := []connectionBody{}
	var next *string
	var last connection
	for _, c := range s.store.connections(clientID) {
		if userID != "" && c.UserID != userID || vehicleID != "" && c.VehicleID != vehicleID ||
			mode != "" && c.Mode != mode || after != nil && !after.before(c) {
			continue
		}
		if len(page) == limit {
			cur := cursorOf(last)
			next = &cur
			break
		}
		page = append(page, connectionBody{UserID: c.UserID, VehicleID: c.VehicleID, ConnectedAt: isoTime(c.ConnectedAt), Mode: c.Mode})
		last = c
	}
	writeJSON(w, r, s.log, http.StatusOK, struct {
		Connections []connectionBody `json:"connections"`
		Paging      struct {
			Cursor *string `json:"cursor"`
		} `json:"paging"`
	}{Connections: page, Paging: struct {
		Cursor *string `json:"cursor"`
	}{next}})
	return nil
}

// handleDeleteConnections is DELETE /v2.0/management/connections?user_id|vehicle_id:
// it disconnects the matching connections (a vehicle for every user, every vehicle of
// a user, or, with both, that user's vehicle, as Smartcar's reference allows) and
// answers them. Without either the request is refused: it would delete everything.
func (s *server) handleDeleteConnections(w http.ResponseWriter, r *http.Request) error {
	clientID, ok := s.basicAMT(r)
	if !ok {
		return errAuthentication()
	}
	note(r.Context()).clientID = clientID
	userID, vehicleID, _, err := connectionFilter(r)
	if err != nil {
		return err
	}
	if userID == "" && vehicleID == "" {
		return errMalformed([]string{"user_id", "vehicle_id"}, "name the connections to delete: user_id or vehicle_id")
	}
	gone := s.store.deleteConnections(clientID, userID, vehicleID)
	out := make([]connectionBody, 0, len(gone))
	for _, c := range gone {
		out = append(out, connectionBody{UserID: c.UserID, VehicleID: c.VehicleID})
	}
	writeJSON(w, r, s.log, http.StatusOK, struct {
		Connections []connectionBody `json:"connections"`
	}{out})
	return nil
}
