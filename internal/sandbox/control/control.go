package control

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/page"
)

// Prefix is where the control surface lives on the sandbox's origin.
const Prefix = "/__sandbox"

// adminCookie carries the admin token for the console in a browser.
const adminCookie = "sandbox_admin"

// Options configure New.
type Options struct {
	// AdminToken, when set, is required on every request (Authorization: Bearer, the
	// X-Sandbox-Admin-Token header, or the console's cookie), from any listener.
	// Without it the control surface answers only on loopback listeners.
	AdminToken string
	// Templates holds sandbox/console/*.html (templates.FS).
	Templates fs.FS
	Logger    *slog.Logger
}

// Control is the control surface's handler.
type Control struct {
	b     Backend
	token string
	pages *page.Renderer
	log   *slog.Logger
	mux   http.Handler
}

// New returns the control surface for b, to be mounted at Prefix (it routes full
// paths).
func New(b Backend, o Options) (*Control, error) {
	if o.Templates == nil {
		return nil, errors.New("control: Options.Templates is required")
	}
	pages, err := page.New(page.Options{FS: o.Templates, Layout: []string{"sandbox/console/layout.html"}, Pages: "sandbox/console/*.html", Funcs: funcs()})
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	for _, name := range []string{"overview", "vehicle", "journal", "entry", "error"} {
		if !pages.Has(name) {
			return nil, fmt.Errorf("control: template sandbox/console/%s.html is missing", name)
		}
	}
	c := &Control{b: b, token: o.AdminToken, pages: pages, log: o.Logger}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := chi.NewRouter()
	r.Use(c.guard)
	// The console's forms have their own cross-origin check (console.go); the API's
	// is here, so that a page on another site cannot post faults or expire tokens
	// through the developer's browser. Clients outside a browser send neither
	// Sec-Fetch-Site nor Origin and are not affected.
	apiCOP := http.NewCrossOriginProtection()
	apiCOP.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.writeError(w, r, &apiError{Status: http.StatusForbidden, Message: "cross-origin request refused: the control API takes unsafe requests only from its own origin or from clients outside a browser"})
	}))
	r.Use(func(next http.Handler) http.Handler {
		protected := apiCOP.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, Prefix+"/api/") || r.URL.Path == Prefix+"/api" {
				protected.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	r.Route(Prefix+"/api", c.apiRoutes)
	r.Group(c.consoleRoutes)
	c.mux = r
	return c, nil
}

func (c *Control) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.mux.ServeHTTP(w, r) }

// guard lets a request through only from a loopback listener (no token set) or with
// the admin token. A browser can present the token once as ?token=, which sets the
// console's cookie.
func (c *Control) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.token == "" {
			if !onLoopback(r) {
				c.deny(w, r, "The sandbox's control surface answers only on a loopback address unless it is started with --admin-token (SANDBOX_ADMIN_TOKEN).")
				return
			}
			if !loopbackHost(r.Host) {
				// A loopback listener reached under another name is DNS rebinding: a
				// site whose name now points at 127.0.0.1 would read and drive the
				// control surface as same-origin.
				c.deny(w, r, "The sandbox's control surface answers only to a loopback host name (localhost, 127.0.0.1, [::1]) unless it is started with --admin-token (SANDBOX_ADMIN_TOKEN).")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet && c.tokenOK(t) {
			http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: t, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
			q := r.URL.Query()
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !c.tokenOK(presentedToken(r)) {
			c.deny(w, r, "Send the sandbox's admin token: Authorization: Bearer <token>, or the X-Sandbox-Admin-Token header; in a browser open "+Prefix+"/?token=<token> once.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (c *Control) tokenOK(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(c.token)) == 1
}

func presentedToken(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	if t := r.Header.Get("X-Sandbox-Admin-Token"); t != "" {
		return t
	}
	if ck, err := r.Cookie(adminCookie); err == nil {
		return ck.Value
	}
	return ""
}

// onLoopback reports whether the request arrived on a loopback listener.
func onLoopback(r *http.Request) bool {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header names this machine: localhost (or a
// name under .localhost, which resolvers keep on loopback) or a loopback address.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Control) deny(w http.ResponseWriter, r *http.Request, why string) {
	if strings.HasPrefix(r.URL.Path, Prefix+"/api") {
		c.writeError(w, r, &apiError{Status: http.StatusForbidden, Message: why})
		return
	}
	c.errorPage(w, http.StatusForbidden, "Console not available", why)
}
