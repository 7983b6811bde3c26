package page_test

// Micro-benchmarks of the renderer: a login-sized page and a vehicle table, each
// executed into its buffer and written, as every HTML response of the app and of the
// sandbox's Connect pages is. `make bench` runs them for docs/performance.md.

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"smartcargo/internal/page"
)

// benchFS mimics the app's templates: a layout with header and footer, a login page
// with a long Connect URL to escape, and a vehicle table.
func benchFS() fstest.MapFS {
	return fstest.MapFS{
		"t/layout.html": {Data: []byte(`{{define "layout"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Smartcar demo</title><link rel="stylesheet" href="/static/css/app.css"></head>
<body><header class="site-header"><a class="brand" href="/">Smartcar demo</a>{{if .SignedIn}}<form method="post" action="/logout"><button class="btn">Log out</button></form>{{end}}</header>
{{if .Note}}<p class="sandbox-note">{{.Note}}</p>{{end}}
<main class="container">{{template "content" .}}</main>
<footer class="site-footer"><p class="muted small">Vehicle data from Smartcar.</p></footer></body></html>{{end}}`)},
		"t/login.html": {Data: []byte(`{{define "content"}}<section class="card hero"><h1>Connect your vehicle</h1>
<p class="lead">See your car's make, model and more, straight from the manufacturer.</p>
<p><a class="btn btn-primary btn-large" id="connect-button" href="{{.ConnectURL}}">Connect your vehicle</a></p></section>{{end}}`)},
		"t/vehicles.html": {Data: []byte(`{{define "content"}}<section class="card"><h1>Your vehicles</h1>
<table class="table"><thead><tr><th>#</th><th>Vehicle ID</th><th>Make</th><th>Model</th><th>Year</th></tr></thead><tbody>
{{range $i, $v := .Vehicles}}<tr><td>{{add $i 1}}</td><td><a href="/vehicle/{{$v.ID}}"><code>{{$v.ID}}</code></a></td><td>{{$v.Make}}</td><td>{{$v.Model}}</td><td>{{$v.Year}}</td></tr>
{{end}}</tbody></table></section>{{end}}`)},
	}
}

type benchBase struct {
	Title    string
	SignedIn bool
	Note     string
}

type benchLogin struct {
	benchBase
	ConnectURL string
}

type benchVehicle struct {
	ID, Make, Model string
	Year            int
}

type benchVehicles struct {
	benchBase
	Vehicles []benchVehicle
}

func newBenchRenderer(b *testing.B) *page.Renderer {
	b.Helper()
	r, err := page.New(page.Options{FS: benchFS(), Layout: []string{"t/layout.html"}, Pages: "t/*.html"})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func benchRender(b *testing.B, name string, data any) {
	r := newBenchRenderer(b)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := r.Render(w, 200, name, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderLogin is the login page: one long URL attribute to escape.
func BenchmarkRenderLogin(b *testing.B) {
	connect := "http://127.0.0.1:8001/oauth/authorize?response_type=code&client_id=dev-0123456789abcdef" +
		"&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fexchange&scope=" +
		strings.Repeat("read_vehicle_info%20read_odometer%20", 6) + "&state=q8bX2cQ3Jx1mYv9l0aZr4w&mode=test&approval_prompt=auto"
	benchRender(b, "login", benchLogin{benchBase: benchBase{Title: "Connect your vehicle", Note: "Running on the built-in sandbox."}, ConnectURL: connect})
}

// BenchmarkRenderVehicles is the vehicle table with 10 and 50 rows.
func BenchmarkRenderVehicles(b *testing.B) {
	for _, n := range []int{10, 50} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			p := benchVehicles{benchBase: benchBase{Title: "Your vehicles", SignedIn: true}}
			for i := range n {
				p.Vehicles = append(p.Vehicles, benchVehicle{
					ID: fmt.Sprintf("8ec6cf55-4b0e-5143-99d8-%012d", i), Make: "TESLA", Model: "Model 3", Year: 2020 + i%5,
				})
			}
			benchRender(b, "vehicles", p)
		})
	}
}
