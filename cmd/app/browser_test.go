package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smartcargo/internal/web"
)

// screenshots, when set, is the folder where the browser tests save a PNG of each page
// they visit: go test ./cmd/app -run Browser -args -screenshots=$PWD/docs
var screenshots = flag.String("screenshots", "", "save page screenshots as PNG files in this folder")

// chromiumPath finds Debian's Chromium. In CI a missing browser fails the test; on a
// developer's machine it skips it with a hint.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found: .ci/run must install Debian's chromium")
	}
	t.Skip("no Chromium found (apt-get install chromium); skipping the browser test")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns a tab context.
// The browser is already running when it returns, so callers may derive per-step
// timeouts from the context without stopping the whole browser.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(1200, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// startApp starts the whole app on loopback ports chosen by the OS, with the in-process
// sandbox, and stops it when the test ends.
func startApp(t *testing.T, env map[string]string) *app {
	t.Helper()
	// SMARTCAR_MAX_DATA_AGE=0: these tests steer the sandbox and read the change on
	// the next page at once, before its webhook need have arrived; the webhook tests
	// set their own.
	vars := map[string]string{"SMARTCAR_REDIRECT_URI": "http://127.0.0.1:0/exchange", "DATA_DIR": t.TempDir(), "SMARTCAR_MAX_DATA_AGE": "0"}
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"--addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--env-file", filepath.Join(t.TempDir(), "none")}
	a, err := start(ctx, args, func(k string) string { return vars[k] }, t.Output())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := a.wait(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// step runs browser actions with a bound, so a missing element fails the test instead
// of hanging it.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// click clicks and waits for the page that the click loads.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func countNodes(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll("+quoteJS(sel)+").length"))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func quoteJS(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// shot saves a full-page screenshot when -screenshots is set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// connect walks Smartcar Connect, as served by the sandbox, by the DOM ids of real
// Connect: preamble, brand list, brand login, grant page. It stops on the grant page.
func connect(t *testing.T, ctx context.Context, a *app, email string, save bool) {
	t.Helper()
	step(t, ctx, "open /login", chromedp.Navigate(a.URL+"/login"))
	if save {
		shot(t, ctx, "login")
	}
	click(t, ctx, "#connect-button")
	if !strings.HasPrefix(location(t, ctx), a.SandboxURL+"/oauth/authorize") {
		t.Fatalf("Connect link led to %s, want the sandbox's /oauth/authorize", location(t, ctx))
	}
	step(t, ctx, "preamble", chromedp.WaitVisible(chromedp.CSS("button#continue-button")))
	if save {
		shot(t, ctx, "connect-preamble")
	}
	click(t, ctx, "button#continue-button")
	step(t, ctx, "brand list", chromedp.WaitVisible(chromedp.CSS("input#brand-search")))
	if save {
		shot(t, ctx, "connect-brands")
	}
	click(t, ctx, "button#CHEVROLET.brand-list-item")
	step(t, ctx, "brand login",
		chromedp.WaitVisible(chromedp.CSS("input#username")),
		chromedp.SendKeys(chromedp.CSS("input#username"), email),
		chromedp.SendKeys(chromedp.CSS("input#password"), "any password"),
	)
	if save {
		shot(t, ctx, "connect-login")
	}
	click(t, ctx, "button#sign-in-button")
	step(t, ctx, "grant page", chromedp.WaitVisible(chromedp.CSS(".page-content")),
		chromedp.WaitVisible(chromedp.CSS("button#approval-button")))
	if save {
		shot(t, ctx, "connect-grant")
	}
}

func TestBrowserGettingStartedFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, nil)
	ctx := newBrowser(t) // cleaned up first: the browser closes before the app stops

	connect(t, ctx, a, "newcomer@example.com", true)
	if h := text(t, ctx, ".page-content h1"); !strings.Contains(h, web.AppName) {
		t.Errorf("grant page asks %q; want it to name the app, %s", h, web.AppName)
	}
	click(t, ctx, "button#approval-button")

	if loc := location(t, ctx); loc != a.URL+"/vehicle" {
		t.Fatalf("after approval the browser is at %s, want %s/vehicle", loc, a.URL)
	}
	if n := countNodes(t, ctx, "table#vehicles tbody tr"); n != 1 {
		t.Fatalf("vehicle table has %d rows, want 1 (a random email has one vehicle)", n)
	}
	row := text(t, ctx, "table#vehicles tbody tr")
	for _, want := range []string{"CHEVROLET", "Volt"} {
		if !strings.Contains(row, want) {
			t.Errorf("vehicle row %q does not contain %q", row, want)
		}
	}
	shot(t, ctx, "vehicle")
}

func TestBrowserManyVehicles(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	for _, n := range []int{25, 30} {
		t.Run(strconv.Itoa(n), func(t *testing.T) { testManyVehicles(t, n) })
	}
}

func testManyVehicles(t *testing.T, want int) {
	a := startApp(t, map[string]string{"SMARTCAR_SCOPE": "read_vehicle_info"})
	ctx := newBrowser(t)

	connect(t, ctx, a, fmt.Sprintf("%d-vehicles@smartcar.com", want), false)
	if n := countNodes(t, ctx, ".page-content input[type=checkbox]"); n != want {
		t.Errorf("grant page lists %d vehicles, want %d", n, want)
	}
	click(t, ctx, "button#approval-button")

	// The table shows a page at a time: follow "Next" and count every row once.
	seen := map[string]bool{}
	for page := 1; ; page++ {
		ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`[...document.querySelectorAll('table#vehicles tbody tr')].map(r => r.dataset.vehicleId)`))
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			t.Fatalf("page %d of the vehicle table has no rows", page)
		}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("vehicle %s shown twice", id)
			}
			seen[id] = true
		}
		if page == 2 && want == 30 {
			shot(t, ctx, "vehicles-paged")
		}
		if countNodes(t, ctx, "a#next-page") == 0 || page > want {
			break
		}
		click(t, ctx, "a#next-page")
	}
	if len(seen) != want {
		t.Fatalf("the vehicle table lists %d vehicles in all, want %d", len(seen), want)
	}
}

func TestBrowserDeny(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	a := startApp(t, nil)
	ctx := newBrowser(t) // cleaned up first: the browser closes before the app stops

	connect(t, ctx, a, "someone@example.com", false)
	click(t, ctx, "button#deny-button")
	loc := location(t, ctx)
	if !strings.HasPrefix(loc, a.URL+"/exchange?") || !strings.Contains(loc, "error=access_denied") {
		t.Fatalf("deny led to %s, want /exchange with error=access_denied", loc)
	}
	body := text(t, ctx, "main")
	if !strings.Contains(strings.ToLower(body), "denied") {
		t.Errorf("access-denied page says %q; want it to say access was denied", body)
	}
	if n := countNodes(t, ctx, `main a[href="/login"]`); n == 0 {
		t.Error("access-denied page has no link back to /login")
	}
	shot(t, ctx, "access-denied")
}
