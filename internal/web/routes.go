package web

import (
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routeDeps are what the handlers are made from.
type routeDeps struct {
	log      *slog.Logger
	pages    *renderer
	sessions *sessionStore
	up       *upstream
	connect  *connectLink
	static   fs.FS
	secure   bool
	now      func() time.Time
	// upstreamBudget bounds the time a page spends on Smartcar in all; 0 means none.
	upstreamBudget time.Duration
	// live wakes the dashboards' streams; liveHeartbeat is their idle comment's period.
	live          *broadcaster
	liveHeartbeat time.Duration
	// webhooks receives Smartcar's webhooks (handleWebhooks); data is the stored
	// values the dashboard may render from; sub subscribes new vehicles (nil: none).
	webhooks http.Handler
	data     *vehicleData
	sub      Subscriber
}

// addRoutes is the app's whole HTTP surface.
func addRoutes(d routeDeps) http.Handler {
	e := &errorResponder{log: d.log, pages: d.pages, sessions: d.sessions}
	h := e.handle

	r := chi.NewRouter()
	r.Use(
		accessLog(d.log, d.now),
		recoverToErrorPage(e),
		securityHeaders(d.secure),
		// Before anything reads the body or the session cookie.
		limitBody(maxFormBody, e, WebhookPath),
		crossOriginProtection(e),
		// Every GET route answers HEAD too.
		middleware.GetHead,
	)
	notFound := h(handleNotFound())
	r.NotFound(notFound)
	r.MethodNotAllowed(withAllow(h(handleMethodNotAllowed())))

	r.Get("/", http.RedirectHandler("/login", http.StatusFound).ServeHTTP)
	r.Get("/healthz", handleHealthz())
	r.Get("/login", h(handleLogin(d.connect, d.sessions, d.pages)))
	r.Get("/connect", h(handleConnect(d.connect, d.sessions)))
	r.Post("/units", h(handleUnits(d.sessions)))
	// Smartcar's posts carry neither Origin nor Sec-Fetch-Site, which
	// CrossOriginProtection lets through; the signature is what authenticates them.
	r.Post(WebhookPath, d.webhooks.ServeHTTP)

	// The routes that call Smartcar.
	r.Group(func(r chi.Router) {
		r.Use(requestDeadline(d.upstreamBudget))
		r.Get("/exchange", h(handleExchange(d.log, d.up, d.sessions, d.pages, d.sub)))
		r.Get("/vehicle", h(handleVehicles(d.log, d.up, d.sessions, d.pages)))
		r.Get("/vehicle/{id}", h(handleDashboard(d.log, d.up, d.sessions, d.pages, d.data)))
		r.Post("/vehicle/{id}/{command}", h(handleCommand(d.log, d.up, d.sessions, d.data)))
		r.Get("/vehicle/{id}/disconnect", h(handleDisconnectConfirm(d.log, d.up, d.sessions, d.pages)))
		r.Post("/vehicle/{id}/disconnect", h(handleDisconnect(d.log, d.up, d.sessions)))
		// Logout revokes at Smartcar (on a context of its own, past this deadline).
		r.Post("/logout", h(handleLogout(d.log, d.up, d.sessions)))
	})

	// A dashboard's live stream: outside the upstream deadline, it lasts as long as
	// the page is open.
	r.Get("/vehicle/{id}/live", h(handleLive(d.log, d.live, d.up, d.sessions, d.pages, d.liveHeartbeat)))

	r.Get("/static/*", staticFiles(d.static, notFound))
	// Every request gets its id before the middleware above (withRequestContext).
	return withRequestContext(newRequestIDs(), r)
}

// staticFiles serves the files of fsys under /static/. A directory, or a name that is
// not a file, is the app's 404 page: no listings.
func staticFiles(fsys fs.FS, notFound http.Handler) http.HandlerFunc {
	files := http.StripPrefix("/static/", http.FileServerFS(fsys))
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if !fs.ValidPath(name) || name == "." {
			notFound.ServeHTTP(w, r)
			return
		}
		if fi, err := fs.Stat(fsys, name); err != nil || fi.IsDir() {
			notFound.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}
}
