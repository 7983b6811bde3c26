package sandbox

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/sandbox/control"
)

// Vehicle list paging (§4.2; Smartcar's default is unconfirmed).
const (
	defaultPageSize = 10
	maxPageSize     = 50
)

// paging holds the v2 lists' page sizes, which the control API can change
// (PATCH /__sandbox/api/paging) so that a client's paging can be tested on few items.
type paging struct {
	mu sync.Mutex
	p  control.Paging
}

func newPaging() *paging {
	return &paging{p: control.Paging{
		Vehicles:    control.PageLimits{DefaultLimit: defaultPageSize, MaxLimit: maxPageSize},
		Permissions: control.PageLimits{DefaultLimit: defaultPermissionsPage, MaxLimit: maxPermissionsPage},
	}}
}

func (p *paging) get() control.Paging {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.p
}

func (p *paging) set(v control.Paging) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.p = v
}

const (
	grantKey ctxKey = iota + 100
	vehicleKey
)

// apiHandler is an API handler that returns its error for writeAPIError.
type apiHandler func(http.ResponseWriter, *http.Request) error

// api adapts an apiHandler.
func (s *server) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeAPIError(w, r, s.log, err)
		}
	}
}

// bearer rejects requests without a live access token (401 AUTHENTICATION) and puts
// the token's grant in the context.
func (s *server) bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		token = strings.TrimSpace(token)
		g, ok := (*grant)(nil), false
		if strings.EqualFold(scheme, "Bearer") && token != "" {
			g, ok = s.store.lookupAccess(token, s.now())
		}
		if !ok {
			writeAPIError(w, r, s.log, errAuthentication())
			return
		}
		note(r.Context()).clientID = g.ClientID
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), grantKey, g)))
	})
}

// vehicleAccess checks the {vehicleID} of the path: a malformed id is 400 VALIDATION;
// an id the token was not granted (or that was disconnected) is 401 AUTHENTICATION,
// since the credentials do not cover that vehicle (unconfirmed: Smartcar does not
// document this case; 401 sends apps back through Connect, which is the fix).
func (s *server) vehicleAccess(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "vehicleID")
		note(r.Context()).vehicleID = strings.ToLower(id)
		if !isUUID(id) {
			writeAPIError(w, r, s.log, errValidation("vehicle_id", "vehicle_id must be a UUID"))
			return
		}
		v, ok := s.store.grantedVehicle(grantOf(r), strings.ToLower(id))
		if !ok {
			writeAPIError(w, r, s.log, errAuthentication())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), vehicleKey, v)))
	})
}

func grantOf(r *http.Request) *grant        { return r.Context().Value(grantKey).(*grant) }
func vehicleOf(r *http.Request) *vehicle    { return r.Context().Value(vehicleKey).(*vehicle) }
func (g *grant) has(permission string) bool { return containsString(g.Scopes, permission) }

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// handleUser is GET /v2.0/user.
func (s *server) handleUser(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, r, s.log, http.StatusOK, struct {
		ID string `json:"id"`
	}{grantOf(r).UserID})
	return nil
}

// pagingBody is the paging object of list responses.
type pagingBody struct {
	Count  int `json:"count"`
	Offset int `json:"offset"`
}

// handleVehicles is GET /v2.0/vehicles?limit&offset: count is the total, offset the
// start of this page (§4.2). limit defaults to 10 and is capped at 50.
func (s *server) handleVehicles(w http.ResponseWriter, r *http.Request) error {
	pl := s.paging.get().Vehicles
	limit, offset, err := pageParams(r, pl.DefaultLimit, pl.MaxLimit)
	if err != nil {
		return err
	}
	all := s.store.activeVehicles(grantOf(r))
	ids := []string{}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		ids = append(ids, all[i].ID)
	}
	writeJSON(w, r, s.log, http.StatusOK, struct {
		Vehicles []string   `json:"vehicles"`
		Paging   pagingBody `json:"paging"`
	}{ids, pagingBody{Count: len(all), Offset: offset}})
	return nil
}

// pageParams reads limit and offset. Empty values (Node sends "limit=&offset=") mean
// the defaults; a limit above max is capped rather than refused, so a client that
// follows paging still reads everything.
func pageParams(r *http.Request, def, max int) (limit, offset int, err error) {
	q := r.URL.Query()
	limit, offset = def, 0
	if v := q.Get("limit"); v != "" && v != "undefined" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errValidation("limit", "limit must be a positive integer")
		}
		limit = min(n, max)
	}
	if v := q.Get("offset"); v != "" && v != "undefined" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, errValidation("offset", "offset must be a non-negative integer")
		}
		offset = n
	}
	return limit, offset, nil
}

// handleAttributes is GET /v2.0/vehicles/{id}: exactly id, make, model, year.
func (s *server) handleAttributes(w http.ResponseWriter, r *http.Request) error {
	if !grantOf(r).has("read_vehicle_info") {
		return errPermission()
	}
	v := vehicleOf(r)
	writeJSON(w, r, s.log, http.StatusOK, struct {
		ID    string `json:"id"`
		Make  string `json:"make"`
		Model string `json:"model"`
		Year  int    `json:"year"`
	}{v.ID, v.Make, v.Model, v.Year})
	return nil
}
