package sandbox

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes maps the sandbox's whole surface: Connect pages, the token endpoint and the
// v2.0 API, on one origin (the Node SDK builds the Connect URL from the API origin).
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.commonHeaders, s.recoverer, middleware.StripSlashes)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.notFound)

	// Connect.
	r.Get("/oauth/authorize", s.connect(s.handleAuthorize))
	r.Get("/connect/brands", s.connect(s.handleBrands))
	r.Get("/connect/login", s.connect(s.handleLoginPage))
	r.Post("/connect/login", s.connect(s.handleLogin))
	r.Get("/grant", s.connect(s.handleGrantPage))
	r.Post("/grant", s.connect(s.handleGrant))
	if s.static != nil {
		r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(s.static)))
	}

	// Token endpoint: every path an SDK uses (§1.4).
	for _, p := range []string{"/oauth/token", "/"} {
		r.Post(p, s.handleToken)
	}

	// API v2.0. Any numeric version behaves like 2.0 (the Python e2e suite relies on
	// v99999999.99 working like the latest).
	r.Route("/{version:v[0-9]+\\.[0-9]+}", func(r chi.Router) {
		r.Use(s.bearer)
		r.Get("/user", s.api(s.handleUser))
		r.Get("/vehicles", s.api(s.handleVehicles))
		r.Route("/vehicles/{vehicleID}", func(r chi.Router) {
			r.Use(s.vehicleAccess)
			r.Get("/", s.api(s.handleAttributes))
			s.vehicleRoutes(r)
		})
	})
	return r
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
