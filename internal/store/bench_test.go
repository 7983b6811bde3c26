package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcargo/internal/fakeclock"
	"smartcargo/internal/smartcar/webhook"
)

// BenchmarkSessionLookup reads one session among 100,000 (an index lookup, not a scan):
//
//	go test -run '^$' -bench SessionLookup -benchtime 2000x ./internal/store/
func BenchmarkSessionLookup(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		benchSessionLookup(b, "sqlite://"+b.TempDir()+"/bench.db")
	})
	b.Run("postgres", func(b *testing.B) {
		benchSessionLookup(b, pg.Cluster(b).NewDatabase(b))
	})
}

const benchSessions = 100_000

func benchSessionLookup(b *testing.B, url string) {
	ctx := context.Background()
	st, err := Open(ctx, url, Options{Keys: [][]byte{key(1)}, Now: fakeclock.New(t0).Now})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s := st.(*sqlStore)
	fillSessions(b, s.wdb, benchSessions)
	checkIndexed(b, s)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := fmt.Sprintf("bench-session-%d", (i*7919)%benchSessions)
		i++
		if _, err := s.Session(ctx, id, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// fillSessions inserts n sessions in one transaction, with ids the benchmark can name,
// expiring an hour after t0 and then one a second.
func fillSessions(b testing.TB, db *sql.DB, n int) {
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO sessions (id, units, flash_kind, flash_text, created_at, expires_at) VALUES ($1, 'metric', '', '', $2, $3)`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if _, err := stmt.ExecContext(ctx, hashID(fmt.Sprintf("bench-session-%d", i)), t0.UnixMilli(), t0.Add(time.Duration(i)*time.Second+time.Hour).UnixMilli()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// checkIndexed fails if the database plans the session lookup as a table scan.
func checkIndexed(b *testing.B, s *sqlStore) {
	q := `SELECT units FROM sessions WHERE id = $1 AND expires_at > $2`
	explain := "EXPLAIN QUERY PLAN "
	if s.postgres {
		explain = "EXPLAIN "
	}
	rows, err := s.rdb.Query(explain+q, hashID("x"), int64(0))
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(vals...))
	}
	p := strings.Join(plan, "\n")
	if strings.Contains(p, "Seq Scan") || strings.Contains(p, "SCAN sessions") || !strings.Contains(strings.ToLower(p), "index") {
		b.Fatalf("session lookup is not an index lookup:\n%s", p)
	}
}

// BenchmarkRecordEvent measures verified and stored webhook events per second: each
// iteration checks the signature of a realistic VEHICLE_STATE body (4.0, ten signals,
// about 2.5 kB, as the sandbox and Smartcar send them), decodes it, and stores it with
// RecordEvent (the event, ten latest values moved forward, sealing, the notification),
// for 100 vehicles, one by one and from 4 goroutines per CPU (deliveries arriving at
// once, as on an HTTP server):
//
//	go test -run '^$' -bench RecordEvent -benchtime 3s ./internal/store/
//
// Signing the body (the sender's work) is counted too; it is a few microseconds. The
// PostgreSQL figures come from internal/pgtest's cluster, which runs with fsync off: a
// server that flushes each commit to disk is bounded by its disk instead.
func BenchmarkRecordEvent(b *testing.B) {
	for _, backend := range []struct {
		name string
		url  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return "sqlite://" + b.TempDir() + "/bench.db" }},
		{"postgres", func(b *testing.B) string { return pg.Cluster(b).NewDatabase(b) }},
	} {
		b.Run(backend.name+"/sequential", func(b *testing.B) {
			benchRecordEvent(b, backend.url(b), false)
		})
		b.Run(backend.name+"/parallel", func(b *testing.B) {
			benchRecordEvent(b, backend.url(b), true)
		})
	}
}

const benchToken = "bench-management-token"

// benchBody is a VEHICLE_STATE body; %[1]s is the eventId, %[2]s the vehicle id, %[3]d
// the retrievedAt (ms) and %[4]d the battery's charge.
const benchBody = `{
  "eventId": "%[1]s",
  "eventType": "VEHICLE_STATE",
  "data": {
    "user": {"id": "7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e5f"},
    "vehicle": {"id": "%[2]s", "make": "VOLKSWAGEN", "model": "ID.4", "year": 2022, "vin": "WVGZZZE2ZNP000001"},
    "signals": [
      {"code": "tractionbattery-stateofcharge", "name": "StateOfCharge", "group": "TractionBattery",
       "body": {"value": %[4]d, "unit": "percent"}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "tractionbattery-range", "name": "Range", "group": "TractionBattery",
       "body": {"value": 312.5, "unit": "kilometers"}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "charge-ischarging", "name": "IsCharging", "group": "Charge",
       "body": {"value": true}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "charge-ispluggedin", "name": "IsPluggedIn", "group": "Charge",
       "body": {"value": true}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "charge-chargerate", "name": "ChargeRate", "group": "Charge",
       "body": {"value": 11.2, "unit": "kilowatts"}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "charge-timetocomplete", "name": "TimeToComplete", "group": "Charge",
       "body": {"value": 95, "unit": "minutes"}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "odometer-traveleddistance", "name": "TraveledDistance", "group": "Odometer",
       "body": {"value": 12345.6, "unit": "kilometers"}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "location-preciselocation", "name": "PreciseLocation", "group": "Location",
       "body": {"latitude": 52.520008, "longitude": 13.404954, "heading": 184, "direction": "S", "locationType": "CURRENT"},
       "status": {"value": "SUCCESS"}, "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "closure-islocked", "name": "IsLocked", "group": "Closure",
       "body": {"value": true}, "status": {"value": "SUCCESS"},
       "meta": {"retrievedAt": %[3]d, "oemUpdatedAt": %[3]d}},
      {"code": "location-isathome", "name": "IsAtHome", "group": "Location",
       "status": {"value": "ERROR", "error": {"type": "COMPATIBILITY", "code": "VEHICLE_NOT_CAPABLE"}}}
    ]
  },
  "triggers": [
    {"type": "SIGNAL_UPDATED", "signal": {"code": "tractionbattery-stateofcharge", "name": "StateOfCharge", "group": "TractionBattery"}}
  ],
  "meta": {
    "version": "4.0",
    "webhookId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    "webhookName": "Dashboard",
    "deliveryId": "delivery-%[1]s",
    "deliveredAt": %[3]d,
    "signalCount": 10,
    "mode": "TEST"
  }
}`

func benchRecordEvent(b *testing.B, url string, parallel bool) {
	ctx := context.Background()
	st, err := Open(ctx, url, Options{Keys: [][]byte{key(1)}, Now: fakeclock.New(t0).Now})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var seq atomic.Int64
	// one receives one delivery as the app's webhook handler would.
	one := func() {
		n := seq.Add(1)
		body := []byte(fmt.Sprintf(benchBody, fmt.Sprintf("event-%d", n), fmt.Sprintf("vehicle-%d", n%100),
			t0.Add(time.Duration(n)*time.Second).UnixMilli(), n%100))
		sig := webhook.Sign(benchToken, body)
		if err := webhook.Verify(benchToken, sig, body); err != nil {
			b.Fatal(err)
		}
		ev, err := webhook.Decode(body)
		if err != nil {
			b.Fatal(err)
		}
		inserted, err := st.RecordEvent(ctx, WebhookEvent(ev))
		if err != nil || !inserted {
			b.Fatalf("RecordEvent: %v, %v", inserted, err)
		}
	}
	b.SetBytes(int64(len(fmt.Sprintf(benchBody, "event-1", "vehicle-1", t0.UnixMilli(), 1))))
	b.ResetTimer()
	if parallel {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	} else {
		for b.Loop() {
			one()
		}
	}
	b.ReportMetric(float64(seq.Load())/b.Elapsed().Seconds(), "events/s")
}
