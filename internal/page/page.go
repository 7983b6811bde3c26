// Package page renders server-side HTML pages from html/template sets.
//
// Both the web app and the sandbox's Connect pages use it, so there is one renderer
// with one contract: templates are parsed once at start (a typo fails at start, not on
// a user's first click), every page executes into a buffer before anything is written
// (a failing template never produces half a page with a 200), and if rendering fails
// a static fallback page is written instead, so no response is ever blank.
package page

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Renderer holds one parsed template set per page: the layout files plus that page.
// It is safe for concurrent use.
type Renderer struct {
	sets     map[string]*template.Template
	fallback []byte
}

// Options tells New where the templates are.
type Options struct {
	// FS holds the template files.
	FS fs.FS
	// Layout lists the files shared by every page (the layout and any partials).
	// The layout must define a template named "layout", which is what Render executes.
	Layout []string
	// Pages is a glob (fs.Glob syntax) matching one file per page. A page is named by
	// its base name without extension: "app/vehicle.html" is the page "vehicle".
	Pages string
	// Funcs are extra template functions, available to every page.
	Funcs template.FuncMap
}

// New parses every page with the layout. It fails if any template does not parse or
// if no page matches.
func New(o Options) (*Renderer, error) {
	files, err := fs.Glob(o.FS, o.Pages)
	if err != nil {
		return nil, fmt.Errorf("page: bad pattern %q: %w", o.Pages, err)
	}
	r := &Renderer{sets: make(map[string]*template.Template), fallback: []byte(fallbackPage)}
	for _, f := range files {
		if isLayout(f, o.Layout) {
			continue
		}
		name := strings.TrimSuffix(path.Base(f), path.Ext(f))
		t := template.New(name).Funcs(baseFuncs)
		if o.Funcs != nil {
			t = t.Funcs(o.Funcs)
		}
		t, err = t.ParseFS(o.FS, append(append([]string{}, o.Layout...), f)...)
		if err != nil {
			return nil, fmt.Errorf("page: parse %s: %w", f, err)
		}
		if t.Lookup("layout") == nil {
			return nil, fmt.Errorf("page: %s: no template named \"layout\" in %v", f, o.Layout)
		}
		r.sets[name] = t
	}
	if len(r.sets) == 0 {
		return nil, fmt.Errorf("page: no pages match %q", o.Pages)
	}
	return r, nil
}

func isLayout(f string, layout []string) bool {
	for _, l := range layout {
		if l == f {
			return true
		}
	}
	return false
}

// Has reports whether a page of that name was parsed.
func (r *Renderer) Has(name string) bool {
	_, ok := r.sets[name]
	return ok
}

// Execute renders the page into a byte slice.
func (r *Renderer) Execute(name string, data any) ([]byte, error) {
	t, ok := r.sets[name]
	if !ok {
		return nil, fmt.Errorf("page: no page %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, fmt.Errorf("page: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// Render writes the page with the given status. If the page fails to render it writes
// the fallback page with status 500 and returns the error, for the caller to log.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, data any) error {
	body, err := r.Execute(name, data)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(r.fallback)
		return err
	}
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// Fallback returns the static page written when rendering fails.
func (r *Renderer) Fallback() []byte { return r.fallback }

// baseFuncs are available to every template.
var baseFuncs = template.FuncMap{
	// add helps templates show 1-based positions.
	"add": func(a, b int) int { return a + b },
}

// fallbackPage is deliberately template-free: it is what a user sees when a template
// itself is broken.
const fallbackPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Something went wrong</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem; color: #1f2933">
<h1>Something went wrong</h1>
<p>We could not show this page. Please try again in a moment, or <a href="/">start over</a>.</p>
</body></html>
`
