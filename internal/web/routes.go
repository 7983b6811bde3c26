package web

import (
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routeDeps are what the handlers are made from.
type routeDeps struct {
	log      *slog.Logger
	pages    *renderer
	login    *loginTemplate
	sessions *sessionStore
	up       *upstream
	static   fs.FS
	secure   bool
	now      func() time.Time
}

// addRoutes is the app's whole HTTP surface.
func addRoutes(d routeDeps) http.Handler {
	e := &errorResponder{log: d.log, pages: d.pages, sessions: d.sessions}
	h := e.handle

	r := chi.NewRouter()
	r.Use(
		middleware.RequestID,
		accessLog(d.log, d.now),
		recoverToErrorPage(e),
		securityHeaders(d.secure),
		crossOriginProtection(e),
	)
	r.NotFound(h(handleNotFound()))
	r.MethodNotAllowed(h(handleMethodNotAllowed()))

	r.Get("/", http.RedirectHandler("/login", http.StatusFound).ServeHTTP)
	r.Get("/healthz", handleHealthz())
	r.Get("/login", h(handleLogin(d.up, d.sessions, d.pages, d.login)))
	r.Get("/connect", h(handleConnect(d.up, d.sessions)))
	r.Get("/exchange", h(handleExchange(d.log, d.up, d.sessions, d.pages)))
	r.Post("/logout", h(handleLogout(d.log, d.up, d.sessions)))

	r.Get("/vehicle", h(handleVehicles(d.log, d.up, d.sessions, d.pages)))
	r.Get("/vehicle/{id}", h(handleDashboard(d.log, d.up, d.sessions, d.pages)))
	r.Post("/vehicle/{id}/{command}", h(handleCommand(d.log, d.up, d.sessions)))
	r.Get("/vehicle/{id}/disconnect", h(handleDisconnectConfirm(d.log, d.up, d.sessions, d.pages)))
	r.Post("/vehicle/{id}/disconnect", h(handleDisconnect(d.log, d.up, d.sessions)))
	r.Post("/units", h(handleUnits(d.sessions)))

	r.Handle("/static/*", http.StripPrefix("/static/", http.FileServerFS(d.static)))
	return r
}
