package page

import (
	"net/http/httptest"
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
