// Package web is the app users see: Smartcar Connect login, the token exchange and the
// vehicle pages, rendered on the server from html/template.
//
// NewServer builds the whole HTTP surface (routes.go lists it) from explicit options; it
// keeps no package-level state, so tests can run several servers side by side.
package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

// Options are the dependencies of the web app. cmd/app fills them from the configuration.
type Options struct {
	// Logger receives the access log and every error; nil discards.
	Logger *slog.Logger
	// Smartcar is the app's Smartcar registration (client id and secret, redirect URI,
	// scopes, Connect mode and origins).
	Smartcar smartcar.Config
	// APIVersion is the Smartcar vehicle API the vehicle pages and commands use:
	// APIVersion3 or APIVersion2; empty means APIVersion2. Connect, the token exchange
	// and the vehicle ids of a new connection are the same in both.
	APIVersion string
	// HTTPClient makes every upstream call (token exchange, refresh, API). It should have
	// a timeout. nil means http.DefaultClient.
	HTTPClient *http.Client
	// Store keeps the sessions, pending OAuth states and connections (required). The
	// caller opens and closes it.
	Store store.Store
	// SessionKeys are gorilla/securecookie key pairs: hash key, block key, then older
	// pairs for rotation. The block key must be 16, 24 or 32 bytes (AES): the cookie
	// holds only the session id, but it is a bearer secret, so it is encrypted as well
	// as signed.
	SessionKeys [][]byte
	// SecureCookies marks the session cookie Secure and turns on HSTS; set it when the
	// app is served over https.
	SecureCookies bool
	// Templates holds app/layout.html and app/*.html (templates.FS).
	Templates fs.FS
	// Static is served under /static/ (static.FS).
	Static fs.FS
	// Now is the clock; nil means time.Now. Token expiry is judged with it.
	Now func() time.Time
	// SandboxNote, when not empty, is shown on every page (e.g. how to log in to the
	// built-in sandbox).
	SandboxNote string
	// UpstreamBudget bounds the time one request of a page that calls Smartcar may
	// spend on it in all (a refresh, a list, then batches, each bounded by
	// HTTPClient's timeout); past it the user gets the timeout page. 0 means no bound
	// beyond the client's. The server's write timeout should exceed it.
	UpstreamBudget time.Duration

	// Done ends the dashboards' live streams (GET /vehicle/{id}/live) and the store
	// listener that feeds them when it is done: pass the context whose end shuts the
	// server down, since http.Server.Shutdown waits for active handlers and a stream
	// never ends by itself. nil means they end only with their clients (and the
	// listener with the Store).
	Done context.Context
	// LiveHeartbeat is how often an idle live stream sends a comment line, so that
	// proxies keep it open; 0 means 15s.
	LiveHeartbeat time.Duration
	// MaxLiveStreams bounds the live streams open at once on this server; past it a
	// page is not live (it still works by reload). 0 means 1000.
	MaxLiveStreams int
	// ManagementTokens are the application management tokens whose signatures
	// POST /webhooks accepts: the current one first, then any being retired. None
	// turns webhooks off (404).
	ManagementTokens []string
	// MaxDataAge is how recently every value a dashboard needs must have reached the
	// store (by webhook or an earlier API read) for the page to render from it with
	// no call to Smartcar (API v3 only; see fresh.go). 0 always calls Smartcar.
	MaxDataAge time.Duration
	// Subscriber, when set, subscribes each newly connected vehicle to the app's
	// webhook.
	Subscriber Subscriber
}

// The Smartcar API versions of Options.APIVersion.
const (
	// APIVersion3 reads with the application token and the sc-user-id of the user
	// Connect returned (store.Connection.SCUserID), else the per-vehicle token.
	APIVersion3 = "3"
	// APIVersion2 reads with the per-vehicle tokens from Connect.
	APIVersion2 = "2.0"
)

// NewServer checks the options, parses every template once and returns the app's
// handler. It fails on a missing dependency or a template that does not parse.
func NewServer(o Options) (http.Handler, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.HTTPClient == nil {
		o.HTTPClient = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var errs []error
	if o.Templates == nil {
		errs = append(errs, errors.New("web: Options.Templates is nil"))
	}
	if o.Static == nil {
		errs = append(errs, errors.New("web: Options.Static is nil"))
	}
	if o.Smartcar.ClientID == "" {
		errs = append(errs, errors.New("web: Options.Smartcar.ClientID is empty"))
	}
	if o.Smartcar.RedirectURL == "" {
		errs = append(errs, errors.New("web: Options.Smartcar.RedirectURL is empty"))
	}
	if o.Store == nil {
		errs = append(errs, errors.New("web: Options.Store is nil"))
	}
	switch o.APIVersion {
	case "":
		o.APIVersion = APIVersion2
	case APIVersion3, APIVersion2:
	default:
		errs = append(errs, fmt.Errorf("web: Options.APIVersion %q: want %q or %q", o.APIVersion, APIVersion3, APIVersion2))
	}
	sessions, err := newSessionStore(o.Store, o.SessionKeys, o.SecureCookies, o.Now)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	pages, err := newRenderer(o.Templates, o.Logger, o.SandboxNote)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	sc := o.Smartcar // a copy: the caller's struct may change after we return
	up := newUpstream(&sc, o.APIVersion, o.HTTPClient, o.Now, o.Store)
	connect, err := newConnectLink(&sc)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if err := prepareLogin(pages, connect); err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	data := newVehicleData(o.Store, o.MaxDataAge, o.Now, o.Logger)
	hooks, err := handleWebhooks(o.Logger, o.Store, o.ManagementTokens, o.Now, data.names)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return addRoutes(routeDeps{
		log:            o.Logger,
		pages:          pages,
		sessions:       sessions,
		up:             up,
		connect:        connect,
		static:         o.Static,
		secure:         o.SecureCookies,
		now:            o.Now,
		upstreamBudget: o.UpstreamBudget,
		live:           newBroadcaster(o.Store, o.Done, o.Logger, o.MaxLiveStreams),
		liveHeartbeat:  o.LiveHeartbeat,
		webhooks:       hooks,
		data:           data,
		sub:            o.Subscriber,
	}), nil
}
