package page

import (
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func testFS() fstest.MapFS {
	return fstest.MapFS{
		"x/layout.html": {Data: []byte(`{{define "layout"}}<main>{{template "content" .}}</main>{{end}}`)},
		"x/hello.html":  {Data: []byte(`{{define "content"}}Hello, {{.Name}}! {{add 1 2}}{{end}}`)},
		"x/broken.html": {Data: []byte(`{{define "content"}}{{.Missing.Field}}{{end}}`)},
	}
}

func TestRender(t *testing.T) {
	r, err := New(Options{FS: testFS(), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Has("layout") || !r.Has("hello") {
		t.Error("the layout is not a page; hello is")
	}
	w := httptest.NewRecorder()
	if err := r.Render(w, 201, "hello", struct{ Name string }{"<Ada>"}); err != nil {
		t.Fatal(err)
	}
	if w.Code != 201 || w.Body.String() != "<main>Hello, &lt;Ada&gt;! 3</main>" {
		t.Errorf("got %d %q", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content-type %q", ct)
	}
}

func TestRenderFailureWritesFallback(t *testing.T) {
	r, err := New(Options{FS: testFS(), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"broken", "no-such-page"} {
		w := httptest.NewRecorder()
		if err := r.Render(w, 200, name, struct{ Name string }{}); err == nil {
			t.Errorf("%s: want an error", name)
		}
		if w.Code != 500 || !strings.Contains(w.Body.String(), "Something went wrong") {
			t.Errorf("%s: got %d %q, want the fallback page with 500", name, w.Code, w.Body)
		}
	}
}

func TestNewFailsAtStart(t *testing.T) {
	fs := testFS()
	fs["x/typo.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}{{if}}{{end}}`)}
	if _, err := New(Options{FS: fs, Layout: []string{"x/layout.html"}, Pages: "x/*.html"}); err == nil {
		t.Error("a template that does not parse must fail New")
	}
	if _, err := New(Options{FS: testFS(), Layout: []string{"x/layout.html"}, Pages: "y/*.html"}); err == nil {
		t.Error("no pages must fail New")
	}
	if _, err := New(Options{FS: testFS(), Layout: []string{"x/hello.html"}, Pages: "x/*.html"}); err == nil {
		t.Error("a layout without a \"layout\" template must fail New")
	}
}

// tokenPage is a Spliceable page: Token changes from view to view, Who between
// situations.
type tokenPage struct {
	Who, Token string
}

func (p tokenPage) SpliceToken() string            { return p.Token }
func (p tokenPage) WithSpliceToken(tok string) any { p.Token = tok; return p }

func spliceFS(content string) fstest.MapFS {
	fs := testFS()
	fs["x/token.html"] = &fstest.MapFile{Data: []byte(`{{define "content"}}` + content + `{{end}}`)}
	return fs
}

func renderString(t *testing.T, r *Renderer, name string, data any) string {
	t.Helper()
	w := httptest.NewRecorder()
	if err := r.Render(w, 200, name, data); err != nil {
		t.Fatal(err)
	}
	if got, want := w.Header().Get("Content-Length"), strconv.Itoa(w.Body.Len()); got != want {
		t.Errorf("Content-Length %s, body %s bytes", got, want)
	}
	return w.Body.String()
}

func TestSplicedPagesEqualFullRenders(t *testing.T) {
	r, err := New(Options{FS: spliceFS(`<a href="/go?state={{.Token}}&amp;x=1">Hi {{.Who}}</a>`), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		p := tokenPage{Who: []string{"<Ada>", "Bob"}[i%2], Token: fmt.Sprintf("tok-%d_%d", i, i*7919)}
		want, err := r.Execute("token", p)
		if err != nil {
			t.Fatal(err)
		}
		if got := renderString(t, r, "token", p); got != string(want) {
			t.Fatalf("view %d: spliced %q, full %q", i, got, want)
		}
	}
	if len(r.splices) != 2 {
		t.Errorf("%d situations cached, want 2 (one per Who)", len(r.splices))
	}
	for k, sp := range r.splices {
		if !sp.ok {
			t.Errorf("situation %v does not splice", k)
		}
	}
}

// Pages the renderer cannot splice exactly are rendered in full, and right.
func TestSpliceFallsBackToFullRenders(t *testing.T) {
	tests := []struct {
		name, content, token string
	}{
		{"token printed twice", `{{.Token}} and {{.Token}}`, "tok"},
		{"token measured", `{{len .Token}}:{{.Token}}`, "tok"},
		{"token changed", `{{printf "%.2s" .Token}}`, "tok"},
		{"token not plain", `{{.Token}}`, "a b<c>"},
		{"no token", `{{.Token}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := New(Options{FS: spliceFS(tc.content), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
			if err != nil {
				t.Fatal(err)
			}
			for _, tok := range []string{tc.token, tc.token + "2", tc.token + "xyz"} {
				if tc.token == "" {
					tok = ""
				}
				p := tokenPage{Who: "x", Token: tok}
				want, _ := r.Execute("token", p)
				if got := renderString(t, r, "token", p); got != string(want) {
					t.Errorf("token %q: got %q, want %q", tok, got, want)
				}
			}
			for k, sp := range r.splices {
				if sp.ok {
					t.Errorf("situation %v splices", k)
				}
			}
		})
	}
}

// The cache is bounded: past maxSplices situations, pages render in full.
func TestSpliceCacheBounded(t *testing.T) {
	r, err := New(Options{FS: spliceFS(`{{.Who}} {{.Token}}`), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxSplices {
		p := tokenPage{Who: strconv.Itoa(i), Token: "t" + strconv.Itoa(i)}
		if got := renderString(t, r, "token", p); got != "<main>"+p.Who+" "+p.Token+"</main>" {
			t.Fatalf("got %q", got)
		}
	}
	if len(r.splices) != maxSplices {
		t.Errorf("%d situations cached, want the bound %d", len(r.splices), maxSplices)
	}
}

func TestPrepare(t *testing.T) {
	r, err := New(Options{FS: spliceFS(`<b>{{.Token}}</b> {{.Who}}`), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Prepare("token", tokenPage{Who: "a", Token: "t1"}); err != nil {
		t.Fatal(err)
	}
	if len(r.splices) != 1 {
		t.Errorf("%d situations cached after Prepare, want 1", len(r.splices))
	}
	if err := r.Prepare("token", tokenPage{Who: "a", Token: "not plain"}); err == nil {
		t.Error("Prepare accepted a token that escaping may change")
	}
	if err := r.Prepare("nope", tokenPage{Token: "t"}); err == nil {
		t.Error("Prepare accepted a missing page")
	}
	twice, err := New(Options{FS: spliceFS(`{{.Token}}{{.Token}}`), Layout: []string{"x/layout.html"}, Pages: "x/*.html"})
	if err != nil {
		t.Fatal(err)
	}
	if err := twice.Prepare("token", tokenPage{Token: "t1"}); err == nil {
		t.Error("Prepare accepted a page that prints the token twice")
	}
}
