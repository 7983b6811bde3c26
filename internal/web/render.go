package web

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/page"
)

// AppName is the app's name, shown in the header and titles (and, in sandbox mode, on
// the Connect pages that ask for access).
const AppName = "Smartcar Garage"

// basePage is embedded in every page struct: what the layout needs.
type basePage struct {
	// Title is the page's <title> (the app name is appended).
	Title string
	// SignedIn shows the header's navigation and the log-out button.
	SignedIn bool
	// Units is the unit system in use ("metric" or "imperial"), for the toggle.
	Units string
	// Flash is a one-time message (after a command or a redirect).
	Flash flash

	// Filled in by the renderer.
	AppName     string
	SandboxNote string
	// Path is the page's own path and query, where the units form comes back to.
	Path string
}

// basePart lets the renderer fill the shared fields of any page struct.
type basePart interface{ base() *basePage }

func (b *basePage) base() *basePage { return b }

// renderer renders the app's pages: one parsed template set per page. Every page goes
// through render; a page whose data is page.Spliceable (the login page) is rendered
// once per situation and spliced afterwards, by page.Renderer.
type renderer struct {
	pages       *page.Renderer
	log         *slog.Logger
	sandboxNote string
	noStore     []string
}

func newRenderer(fsys fs.FS, log *slog.Logger, sandboxNote string) (*renderer, error) {
	p, err := page.New(page.Options{
		FS:     fsys,
		Layout: []string{"app/layout.html"},
		Pages:  "app/*.html",
	})
	if err != nil {
		return nil, err
	}
	for _, name := range pageNames {
		if !p.Has(name) {
			return nil, fmt.Errorf("template app/%s.html is missing", name)
		}
	}
	return &renderer{pages: p, log: log, sandboxNote: sandboxNote, noStore: []string{"no-store"}}, nil
}

// pageNames are the pages the handlers render; NewServer fails if one is missing.
var pageNames = []string{"login", "vehicles", "vehicle", "disconnect", "error"}

// render writes the page with that status. A page that fails to render becomes the
// static fallback page (500), and the failure is logged.
func (rd *renderer) render(w http.ResponseWriter, r *http.Request, status int, name string, data basePart) {
	path := "/vehicle"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		path = r.URL.RequestURI()
	}
	rd.fill(data, path)
	w.Header()["Cache-Control"] = rd.noStore // pages hold per-user data
	if err := rd.pages.Render(w, status, name, data); err != nil {
		rd.log.Error("render failed", "request_id", middleware.GetReqID(r.Context()),
			"page", name, "err", err)
	}
}

// fill sets the shared fields the handlers leave to the renderer.
func (rd *renderer) fill(data basePart, path string) {
	b := data.base()
	b.AppName = AppName
	b.SandboxNote = rd.sandboxNote
	b.Path = path
	if b.Units == "" {
		b.Units = "metric"
	}
}
