package sandbox

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/sandbox/apiv3"
	"smartcargo/internal/sandbox/control"
	"smartcargo/internal/sandbox/webhooks"
)

// routes maps the sandbox's whole surface: Connect pages, the token endpoints and the
// v2.0 and v3 APIs, on one origin (the Node SDK builds the Connect URL from the API origin).
// It returns the router without the outer middleware, which batch reuses for its
// items; NewServer wraps it with commonHeaders and recoverer.
func (s *server) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(queryInPath, middleware.StripSlashes)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.notFound)

	// Connect.
	r.Get("/oauth/authorize", s.connect(s.handleAuthorize))
	r.Get("/connect/brands", s.connect(s.handleBrands))
	r.Get("/connect/login", s.connect(s.handleLoginPage))
	r.Post("/connect/login", s.connect(s.handleLogin))
	r.Get("/grant", s.connect(s.handleGrantPage))
	r.Post("/grant", s.connect(s.handleGrant))
	r.Get("/battery-capacity", s.connect(s.handleBatteryCapacityPage))
	if s.static != nil {
		r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(s.static)))
	}

	// The console and the control API (internal/sandbox/control).
	r.Handle(control.Prefix, s.control)
	r.Handle(control.Prefix+"/*", s.control)

	// Token endpoint: every path an SDK uses (§1.4).
	for _, p := range []string{"/oauth/token", "/"} {
		r.With(s.journaled, s.scripted).Post(p, s.handleToken)
	}
	// The v3 application token (client_credentials; v3.go).
	r.With(s.journaled, s.scripted).Post("/oauth2/token", s.handleAppToken)

	// API v3 (internal/sandbox/apiv3): the vehicle, its signals and its commands; and
	// the v3 webhook management API (internal/sandbox/webhooks), which Smartcar serves
	// on its management origin (SMARTCAR_MANAGEMENT_API_ORIGIN may point here too).
	s.v3 = apiv3.New(v3Backend{s})
	r.Route("/v3", func(r chi.Router) {
		r.Use(s.journaled, s.apiBodyLimit, s.scripted, s.chaos)
		r.Mount("/webhooks", s.hooks.Handler(webhooks.Catalog{Known: apiv3.Known, All: apiv3.Codes()}))
		r.Mount("/", s.v3)
	})

	// API v2.0. Any numeric version behaves like 2.0 (the Python e2e suite relies on
	// v99999999.99 working like the latest).
	r.Route("/{version:v[0-9]+\\.[0-9]+}", func(r chi.Router) {
		r.Use(s.journaled, s.apiBodyLimit, s.scripted, s.chaos)
		// The Compatibility API (compat_api.go), with client credentials.
		compatTable := newCompatTable()
		r.Get("/compatibility", s.api(s.handleCompatibility(compatTable)))
		r.Get("/compatibility/matrix", s.api(s.handleCompatibilityMatrix(compatTable)))
		r.With(s.bearer).Get("/user", s.api(s.handleUser))
		r.With(s.bearer).Get("/vehicles", s.api(s.handleVehicles))
		// Management connections (management.go): Smartcar serves them on its
		// management origin, which SMARTCAR_MANAGEMENT_API_ORIGIN points here.
		r.Get("/management/connections", s.api(s.handleGetConnections))
		r.Delete("/management/connections", s.api(s.handleDeleteConnections))
		r.Route("/vehicles/{vehicleID}", func(r chi.Router) {
			// Unsubscribing is authorised by the management token, not the vehicle's.
			r.Delete("/webhooks/{webhookID}", s.api(s.handleUnsubscribe))
			r.Group(func(r chi.Router) {
				r.Use(s.bearer, s.vehicleAccess)
				r.Get("/", s.api(s.handleAttributes))
				s.vehicleRoutes(r)
			})
		})
	})
	return r
}

// apiBodyLimit caps API bodies at maxAPIBody; a declared larger one is refused with
// 413 before anything else (nothing of it is read).
func (s *server) apiBodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := limitBody(w, r, maxAPIBody); err != nil {
			writeAPIError(w, r, s.log, errTooLarge())
			return
		}
		next.ServeHTTP(w, r)
	})
}

// queryInPath moves a query string that arrived percent-encoded inside the path
// (Java builds service/history%3Fstart_date=... by path-segment encoding) back into
// the query, so routing and parameters work as if it had been sent plainly.
func queryInPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, q, ok := strings.Cut(r.URL.Path, "?"); ok {
			u := *r.URL
			u.Path, u.RawPath = p, ""
			if u.RawQuery != "" {
				q += "&" + u.RawQuery
			}
			u.RawQuery = q
			r2 := r.Clone(r.Context())
			r2.URL = &u
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// notFound answers unknown paths: the error page for browsers (they ask for
// text/html), JSON in Smartcar's error shape for everyone else.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	if isAPIPath(r.URL.Path) || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		writeAPIError(w, r, s.log, errNotFound())
		return
	}
	s.connectFail(w, r, &connectError{Status: http.StatusNotFound, Title: "Page not found",
		Message: "This page does not exist on the Smartcar sandbox. Start again from your application."})
}
