package web_test

// The webhook figures of `make bench` (docs/performance.md): verified and stored
// events per second through the app's POST /webhooks over loopback HTTP, on SQLite
// and PostgreSQL, and the upstream API calls of a dashboard view once webhooks keep
// its data fresh.

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/pgtest"
	"smartcargo/internal/sandboxctl"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/smartcar/webhook"
	"smartcargo/internal/web"
)

// benchEvent is a compact 4.0 VEHICLE_STATE of the size the sandbox sends for the
// dashboard (ten signals), for one of 100 vehicles.
func benchEvent(n int64) []byte {
	var sigs bytes.Buffer
	for i, c := range []string{"tractionbattery-stateofcharge", "tractionbattery-range", "odometer-traveleddistance",
		"charge-detailedchargingstatus", "charge-ischargingcableconnected", "closure-islocked",
		"location-preciselocation", "internalcombustionengine-fuellevel", "wheel-tires", "internalcombustionengine-oillife"} {
		if i > 0 {
			sigs.WriteByte(',')
		}
		fmt.Fprintf(&sigs, `{"code":%q,"body":{"value":%d,"unit":"percent"},"status":{"value":"SUCCESS"},"meta":{"retrievedAt":%d}}`,
			c, n%100, 1777629600000+n)
	}
	return fmt.Appendf(nil, `{"eventId":"bench-%d","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":"00000000-0000-4000-8000-%012d","make":"TESLA","model":"Model 3","year":2021},`+
		`"signals":[%s],"user":{"id":"user-1"}},"triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":"closure-islocked"}}],`+
		`"meta":{"version":"4.0","webhookId":"hook","deliveryId":"d-%d","deliveredAt":%d,"mode":"TEST"}}`,
		n, n%100, sigs.Bytes(), n, 1777629600000+n)
}

// BenchmarkWebhooks posts signed events to the app's /webhooks from 8 concurrent
// senders; each is verified, decoded and committed before its 200. It reports
// events/s (verified and stored).
func BenchmarkWebhooks(b *testing.B) {
	backends := []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(*testing.B) string { return "" }},
		{"postgres", func(b *testing.B) string { return pgtest.Start(b).NewDatabase(b) }},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			a := newBenchAppOn(b, be.url(b), func(o *web.Options) { o.ManagementTokens = []string{benchManagementToken} })
			srv := httptest.NewServer(a.h)
			b.Cleanup(srv.Close)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
			var seq atomic.Int64
			b.SetParallelism(4) // 4 × GOMAXPROCS senders (8 on 2 cores)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := benchEvent(seq.Add(1))
					req, _ := http.NewRequest(http.MethodPost, srv.URL+web.WebhookPath, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(webhook.SignatureHeader, webhook.Sign(benchManagementToken, body))
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("POST /webhooks answered %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// countingTransport counts the requests that leave the app.
type countingTransport struct{ n *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// BenchmarkDashboardFreshWebhook is GET /vehicle/{id} (API v3) while the sandbox's
// webhook has delivered the vehicle's signals less than SMARTCAR_MAX_DATA_AGE ago. It
// reports upstream-calls/op: the requests to Smartcar per view (0: from the store).
func BenchmarkDashboardFreshWebhook(b *testing.B) {
	var calls atomic.Int64
	a := newBenchAppOn(b, "", func(o *web.Options) {
		o.APIVersion = web.APIVersion3
		o.Smartcar.Endpoint.V3Origin, o.Smartcar.Endpoint.IAMOrigin = o.Smartcar.Endpoint.APIOrigin, o.Smartcar.Endpoint.AuthOrigin
		o.ManagementTokens = []string{benchManagementToken}
		o.MaxDataAge = time.Hour
		o.HTTPClient = &http.Client{Transport: countingTransport{&calls}, Timeout: 5 * time.Second}
	})
	c := a.signedIn(b)
	srv := httptest.NewServer(a.h)
	b.Cleanup(srv.Close)
	sb := sandboxctl.New(b, a.sandbox)
	vehicle := sb.Vehicles()[0].ID
	mgmt := smartcar.NewManagement(&http.Client{Timeout: 5 * time.Second}, a.sandbox, benchManagementToken)
	hook, err := mgmt.CreateWebhook(b.Context(), smartcar.NewWebhook{Name: "bench", CallbackURI: srv.URL + web.WebhookPath, Signals: web.DashboardSignals()})
	if err != nil {
		b.Fatal(err)
	}
	sb.Deliveries(hook.ID, 1)
	if err := mgmt.Subscribe(b.Context(), hook.ID, vehicle); err != nil {
		b.Fatal(err)
	}
	sb.Deliveries(hook.ID, 2)
	req := a.request("/vehicle/"+vehicle, c)
	before := calls.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if rec := a.serve(req); rec.Code != http.StatusOK {
			b.Fatalf("GET /vehicle/{id} answered %d: %.300s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(calls.Load()-before)/float64(b.N), "upstream-calls/op")
}
