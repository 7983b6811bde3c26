// Package page renders server-side HTML pages from html/template sets.
//
// Both the web app and the sandbox's Connect pages use it, so there is one renderer
// with one contract: templates are parsed once at start (a typo fails at start, not on
// a user's first click), every page executes into a buffer before anything is written
// (a failing template never produces half a page with a 200), and if rendering fails
// a static fallback page is written instead, so no response is ever blank.
//
// Pages whose views differ only in one token (see Spliceable) are rendered once per
// situation and spliced afterwards: html/template costs more than anything else on
// a busy page such as the app's /login.
package page

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Renderer holds one parsed template set per page: the layout files plus that page.
// It is safe for concurrent use.
type Renderer struct {
	sets     map[string]*template.Template
	fallback []byte
	// htmlType is the Content-Type of every page, built once.
	htmlType, noStore []string
	// bufs are the buffers pages execute into.
	bufs sync.Pool

	// placeholder stands for the token when a Spliceable page is rendered for the
	// cache: random, so that no template contains it.
	placeholder string
	mu          sync.RWMutex
	splices     map[spliceKey]splice
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
	// Funcs are template functions added to the base ones.
	Funcs template.FuncMap
}

// New parses every page with the layout. It fails if any template does not parse or
// if no page matches.
func New(o Options) (*Renderer, error) {
	files, err := fs.Glob(o.FS, o.Pages)
	if err != nil {
		return nil, fmt.Errorf("page: bad pattern %q: %w", o.Pages, err)
	}
	r := &Renderer{
		sets:        make(map[string]*template.Template),
		fallback:    []byte(fallbackPage),
		htmlType:    []string{"text/html; charset=utf-8"},
		noStore:     []string{"no-store"},
		placeholder: randomToken(),
		splices:     make(map[spliceKey]splice),
	}
	r.bufs.New = func() any { return new(bytes.Buffer) }
	for _, f := range files {
		if isLayout(f, o.Layout) {
			continue
		}
		name := strings.TrimSuffix(path.Base(f), path.Ext(f))
		t, err := template.New(name).Funcs(baseFuncs()).Funcs(o.Funcs).ParseFS(o.FS, append(append([]string{}, o.Layout...), f)...)
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

// Execute renders the page into a byte slice, always in full (never from the splice
// cache): it is what Render's output must equal.
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

// maxPooledBuffer keeps the rare huge page from pinning its buffer in the pool.
const maxPooledBuffer = 64 << 10

// Render writes the page with the given status. If the page fails to render it writes
// the fallback page with status 500 and returns the error, for the caller to log. A
// failed write (the client went away, or a HEAD request) is not a render failure and
// is not returned.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, data any) error {
	buf := r.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			r.bufs.Put(buf)
		}
	}()
	err := r.execute(buf, name, data)
	h := w.Header()
	h["Content-Type"] = r.htmlType
	if err != nil {
		h["Cache-Control"] = r.noStore
		w.WriteHeader(http.StatusInternalServerError)
		w.Write(r.fallback)
		return err
	}
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// execute renders the page into buf, from the splice cache when it can.
func (r *Renderer) execute(buf *bytes.Buffer, name string, data any) error {
	t, ok := r.sets[name]
	if !ok {
		return fmt.Errorf("page: no page %q", name)
	}
	if s, ok := data.(Spliceable); ok {
		if done, err := r.splice(buf, t, name, s); done {
			return err
		}
	}
	if err := t.ExecuteTemplate(buf, "layout", data); err != nil {
		return fmt.Errorf("page: render %s: %w", name, err)
	}
	return nil
}

// Spliceable is page data whose views differ only in one token, such as a fresh
// random state in an otherwise fixed page. Render renders such a page once per
// situation (per distinct WithSpliceToken value) and afterwards only puts each view's
// token between the two halves around it.
//
// The token must reach the page only as text, printed once and never tested or
// measured by the template; the renderer checks what it can (the token appears once,
// and the first splice equals a full rendering) and renders in full otherwise.
type Spliceable interface {
	// SpliceToken is this view's token: letters, digits, '-' and '_', which no
	// escaping changes. Anything else, "" included, means render in full.
	SpliceToken() string
	// WithSpliceToken returns the same data with another token, as a comparable
	// value (a struct, not a pointer to one): it is the cache key, so two views that
	// render alike apart from the token must give equal values.
	WithSpliceToken(token string) any
}

// maxSplices bounds the splice cache; past it new situations render in full. The
// first situations seen (a new visitor's login page) stay, whatever fills the rest.
const maxSplices = 64

type spliceKey struct {
	page string
	data any
}

// splice is a page rendered around its token; ok is false for a page that turned out
// not to splice exactly, which is then always rendered in full.
type splice struct {
	before, after []byte
	ok            bool
}

// Prepare puts the situation of s into the splice cache before its first view, so
// that the commonest page is spliced whatever the first requests are, and says why if
// the page does not splice exactly (the caller can then fail at start rather than
// render every view in full).
func (r *Renderer) Prepare(name string, s Spliceable) error {
	t, ok := r.sets[name]
	if !ok {
		return fmt.Errorf("page: no page %q", name)
	}
	key, token, ok := r.spliceKeyOf(name, s)
	if !ok {
		return fmt.Errorf("page: %s: token %q or its data (%T) cannot be spliced", name, token, s)
	}
	var buf bytes.Buffer
	if _, err := r.splice(&buf, t, name, s); err != nil {
		return err
	}
	r.mu.RLock()
	sp := r.splices[key]
	r.mu.RUnlock()
	if !sp.ok {
		return fmt.Errorf("page: %s does not splice: the token must appear once, as it is, and nowhere else change the page", name)
	}
	return nil
}

// spliceKeyOf returns the cache key and the token of s, or ok false when s cannot be
// spliced.
func (r *Renderer) spliceKeyOf(name string, s Spliceable) (key spliceKey, token string, ok bool) {
	token = s.SpliceToken()
	if !plainToken(token) {
		return spliceKey{}, token, false
	}
	k := s.WithSpliceToken(r.placeholder)
	if kt := reflect.TypeOf(k); kt == nil || kt.Kind() == reflect.Pointer || !kt.Comparable() {
		return spliceKey{}, token, false // a pointer would make every view a situation of its own
	}
	return spliceKey{page: name, data: k}, token, true
}

// splice writes the page of s into buf from the cache; done is false when the page
// must be rendered in full instead. On a cache miss it renders the page in full
// (that is the answer) and once more with the placeholder, and keeps the halves only
// if they give back exactly the full page.
func (r *Renderer) splice(buf *bytes.Buffer, t *template.Template, name string, s Spliceable) (done bool, err error) {
	key, token, ok := r.spliceKeyOf(name, s)
	if !ok {
		return false, nil
	}
	k := key.data
	r.mu.RLock()
	sp, cached := r.splices[key]
	r.mu.RUnlock()
	if cached {
		if !sp.ok {
			return false, nil
		}
		buf.Grow(len(sp.before) + len(token) + len(sp.after))
		buf.Write(sp.before)
		buf.WriteString(token)
		buf.Write(sp.after)
		return true, nil
	}

	if err := t.ExecuteTemplate(buf, "layout", s); err != nil {
		return true, fmt.Errorf("page: render %s: %w", name, err)
	}
	var with bytes.Buffer
	if t.ExecuteTemplate(&with, "layout", k) == nil {
		sp = splitAround(with.Bytes(), r.placeholder, buf.Bytes(), token)
	}
	r.mu.Lock()
	if len(r.splices) < maxSplices {
		r.splices[key] = sp
	}
	r.mu.Unlock()
	return true, nil
}

// splitAround splits page around its one placeholder, if putting token there gives
// exactly want.
func splitAround(page []byte, placeholder string, want []byte, token string) splice {
	before, after, found := bytes.Cut(page, []byte(placeholder))
	if !found || bytes.Contains(after, []byte(placeholder)) ||
		len(before)+len(token)+len(after) != len(want) ||
		!bytes.HasPrefix(want, before) || !bytes.HasSuffix(want, after) ||
		string(want[len(before):len(before)+len(token)]) != token {
		return splice{}
	}
	return splice{before: bytes.Clone(before), after: bytes.Clone(after), ok: true}
}

// plainToken reports whether s is a token no escaping changes (see Spliceable).
func plainToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func randomToken() string {
	b := make([]byte, 18)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return "pLaCeHoLdEr" + base64.RawURLEncoding.EncodeToString(b)
}

// Fallback returns the static page written when rendering fails.
func (r *Renderer) Fallback() []byte { return r.fallback }

// baseFuncs are available to every template.
func baseFuncs() template.FuncMap {
	return template.FuncMap{
		// add helps templates show 1-based positions.
		"add": func(a, b int) int { return a + b },
	}
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
