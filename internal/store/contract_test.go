package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"
)

// The contract: one suite, run against every backend.

func TestSQLite(t *testing.T)   { testContract(t, sqliteBackend()) }
func TestPostgres(t *testing.T) { testContract(t, postgresBackend(t)) }

func testContract(t *testing.T, b backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b backend)
	}{
		{"Sessions", testSessions},
		{"Sweep", testSweep},
		{"States", testStates},
		{"StatesConcurrentConsume", testStatesConcurrentConsume},
		{"Connect", testConnect},
		{"ConnectConcurrent", testConnectConcurrent},
		{"ConnectedVehicles", testConnectedVehicles},
		{"SCUserID", testSCUserID},
		{"MigrateSCUserID", testMigrateSCUserID},
		{"SoleConnections", testSoleConnections},
		{"ConnectionsPaging", testConnectionsPaging},
		{"Encryption", testEncryption},
		{"KeyRotation", testKeyRotation},
		{"RefreshOnce", testRefreshOnce},
		{"RefreshOnceTwoInstances", testRefreshOnceTwoInstances},
		{"RefreshWaitsForOtherInstance", testRefreshWaitsForOtherInstance},
		{"RefreshSkippedWhenFresh", testRefreshSkippedWhenFresh},
		{"RefreshDetached", testRefreshDetached},
		{"RefreshFailure", testRefreshFailure},
		{"RefreshLosesToConnect", testRefreshLosesToConnect},
		{"NewerSchema", testNewerSchema},
		{"Cancelled", testCancelled},
		{"LockedIsUnavailable", testLockedIsUnavailable},
		{"RecordEvent", testRecordEvent},
		{"RecordVehicleError", testRecordVehicleError},
		{"RecordEventInvalid", testRecordEventInvalid},
		{"RecordEventConcurrentDuplicates", testRecordEventConcurrentDuplicates},
		{"OutOfOrder", testOutOfOrder},
		{"RecordEventAtomic", testRecordEventAtomic},
		{"Notify", testNotify},
		{"SlowListener", testSlowListener},
		{"EventSweep", testEventSweep},
		{"EventEncryption", testEventEncryption},
		{"MigrateWebhookEvents", testMigrateWebhookEvents},
		{"DisconnectDeletesVehicleData", testDisconnectDeletesVehicleData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, b) })
	}
}

func testSessions(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	id := e.session()
	if len(id) < 40 {
		t.Fatalf("session id %q is too short to be a secret", id)
	}
	got, err := e.s.Session(ctx, id, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Units != "metric" || got.Flash != (Flash{}) || !got.ExpiresAt.Equal(t0.Add(24*time.Hour)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("new session = %+v", got)
	}
	// Only the id's hash is stored.
	var stored string
	if err := e.raw().QueryRow("SELECT id FROM sessions").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == id || strings.Contains(stored, id) || stored != hashID(id) {
		t.Fatalf("stored id %q, want the SHA-256 of %q", stored, id)
	}

	if err := e.s.SetUnits(ctx, id, "imperial"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetUnits(ctx, id, "furlongs"); err == nil {
		t.Fatal("SetUnits accepted furlongs")
	}
	if err := e.s.SetFlash(ctx, id, Flash{"success", "Connected."}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.s.Session(ctx, id, t0)
	if got.Units != "imperial" || got.Flash != (Flash{"success", "Connected."}) {
		t.Fatalf("after SetUnits and SetFlash: %+v", got)
	}
	if f, err := e.s.TakeFlash(ctx, id); err != nil || f != (Flash{"success", "Connected."}) {
		t.Fatalf("TakeFlash = %+v, %v", f, err)
	}
	if f, err := e.s.TakeFlash(ctx, id); err != nil || f != (Flash{}) {
		t.Fatalf("second TakeFlash = %+v, %v; want nothing", f, err)
	}

	// Expiry: gone once expired, back after an extension.
	if _, err := e.s.Session(ctx, id, t0.Add(24*time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("expired session: err = %v, want ErrNotFound", err)
	}
	if err := e.s.ExtendSession(ctx, id, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Session(ctx, id, t0.Add(24*time.Hour)); err != nil {
		t.Fatalf("extended session: %v", err)
	}

	// Unknown ids.
	for name, f := range map[string]func() error{
		"Session":       func() error { _, err := e.s.Session(ctx, "nope", t0); return err },
		"SetUnits":      func() error { return e.s.SetUnits(ctx, "nope", "metric") },
		"SetFlash":      func() error { return e.s.SetFlash(ctx, "nope", Flash{"error", "x"}) },
		"TakeFlash":     func() error { _, err := e.s.TakeFlash(ctx, "nope"); return err },
		"ExtendSession": func() error { return e.s.ExtendSession(ctx, "nope", t0) },
		"AddState":      func() error { return e.s.AddState(ctx, "nope", "st", t0) },
		"Connect":       func() error { _, err := e.s.Connect(ctx, "nope", newConn("u", "a", "r")); return err },
	} {
		if err := f(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of an unknown session: err = %v, want ErrNotFound", name, err)
		}
	}

	// Logout: the session, its states and its links go; the user's connection stays.
	if err := e.s.AddState(ctx, id, "state-1", t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Connect(ctx, id, newConn("user-1", "a", "r")); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Session(ctx, id, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted session: err = %v", err)
	}
	if n, m := e.count("oauth_states"), e.count("session_users"); n != 0 || m != 0 {
		t.Fatalf("after DeleteSession: %d states, %d links left", n, m)
	}
	if n := e.count("connections"); n != 1 {
		t.Fatalf("after DeleteSession: %d connections, want 1", n)
	}
	if err := e.s.DeleteSession(ctx, id); err != nil {
		t.Fatalf("second DeleteSession: %v", err)
	}
}

func testSweep(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	short, err := e.s.CreateSession(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	long := e.session() // 24 h
	for _, st := range []struct {
		sess, state string
		life        time.Duration
	}{{short, "s1", 10 * time.Minute}, {long, "l1", 10 * time.Minute}, {long, "l2", 2 * time.Hour}} {
		if err := e.s.AddState(ctx, st.sess, st.state, t0.Add(st.life)); err != nil {
			t.Fatal(err)
		}
	}
	// user-dead: only the short session, refresh token expired by the sweep.
	// user-live: only the short session, refresh token still good.
	// user-linked: the long session, refresh token expired: kept while linked.
	dead := newConn("user-dead", "a1", "r1")
	dead.Tokens.RefreshExpiry = t0.Add(90 * time.Minute)
	live := newConn("user-live", "a2", "r2")
	live.Tokens.RefreshExpiry = t0.Add(60 * 24 * time.Hour)
	linked := newConn("user-linked", "a3", "r3")
	linked.Tokens.RefreshExpiry = t0.Add(90 * time.Minute)
	for _, c := range []struct {
		sess string
		nc   NewConnection
	}{{short, dead}, {short, live}, {long, linked}} {
		if _, err := e.s.Connect(ctx, c.sess, c.nc); err != nil {
			t.Fatal(err)
		}
	}

	// A backlog bigger than one sweep transaction: 2500 sessions expiring between 1 h
	// and 1 h 41 min.
	fillSessions(t, e.raw(), 2500)

	got, err := e.s.Sweep(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The short session (and with it s1), the backlog, the expired l1 and l2 at
	// exactly 2 h, and user-dead.
	if want := (Swept{Sessions: 2501, States: 2, Users: 1}); got != want {
		t.Fatalf("Sweep = %+v, want %+v", got, want)
	}
	if _, err := e.s.Session(ctx, short, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("swept session still there: %v", err)
	}
	if _, err := e.s.Session(ctx, long, t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("live session swept: %v", err)
	}
	var users []string
	rows, err := e.raw().Query("SELECT id FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		rows.Scan(&u)
		users = append(users, u)
	}
	rows.Close()
	if !slices.Equal(users, []string{"user-linked", "user-live"}) {
		t.Fatalf("users after sweep = %v", users)
	}
	if n := e.count("oauth_states"); n != 0 {
		t.Fatalf("%d states left", n)
	}
}

func testStates(t *testing.T, b backend) {
	e := newEnv(t, b, func(o *Options) { o.MaxStatesPerSession = 3 })
	ctx := t.Context()
	a, other := e.session(), e.session()
	exp := t0.Add(10 * time.Minute)
	if err := e.s.AddState(ctx, a, "s1", exp); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AddState(ctx, a, "s2", exp); err != nil {
		t.Fatal(err)
	}
	consume := func(sess, state string, now time.Time) bool {
		t.Helper()
		ok, err := e.s.ConsumeState(ctx, sess, state, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// A wrong state, or the right one from another session, deletes nothing.
	if consume(a, "wrong", t0) || consume(other, "s1", t0) || consume(a, "", t0) {
		t.Fatal("a non-matching state was accepted")
	}
	if n := e.count("oauth_states"); n != 2 {
		t.Fatalf("a non-matching state deleted something: %d left", n)
	}
	if n, err := e.s.PendingStates(ctx, a, t0); err != nil || n != 2 {
		t.Fatalf("PendingStates: %d, %v; want 2", n, err)
	}
	if n, err := e.s.PendingStates(ctx, a, exp); err != nil || n != 0 {
		t.Fatalf("PendingStates once expired: %d, %v; want 0", n, err)
	}
	if !consume(a, "s1", t0) {
		t.Fatal("pending state refused")
	}
	if consume(a, "s1", t0) {
		t.Fatal("a state was accepted twice")
	}
	// Expired: refused with ErrExpired, and deleted all the same.
	if ok, err := e.s.ConsumeState(ctx, a, "s2", exp); ok || !errors.Is(err, ErrExpired) {
		t.Fatalf("expired state: %v, %v; want false, ErrExpired", ok, err)
	}
	if n := e.count("oauth_states"); n != 0 {
		t.Fatalf("%d states left", n)
	}
	// At most 3, the newest.
	for i := range 5 {
		if err := e.s.AddState(ctx, a, fmt.Sprintf("n%d", i), exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.AddState(ctx, other, "o1", exp); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if got := consume(a, fmt.Sprintf("n%d", i), t0); got != want {
			t.Errorf("state n%d of 5 with a limit of 3: accepted=%v, want %v", i, got, want)
		}
	}
	if !consume(other, "o1", t0) {
		t.Fatal("another session's limit dropped this session's state")
	}
}

func testStatesConcurrentConsume(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	sess := e.session()
	if err := e.s.AddState(ctx, sess, "once", t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			ok, err := e.s.ConsumeState(ctx, sess, "once", t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("10 concurrent callbacks with one state: %d accepted, want 1", wins.Load())
	}
}

func newConn(user, access, refresh string) NewConnection {
	return NewConnection{
		UserID:     user,
		VehicleIDs: []string{"veh-" + user},
		Scopes:     []string{"read_vehicle_info", "read_odometer"},
		Tokens: Tokens{Access: access, Refresh: refresh,
			AccessExpiry: t0.Add(2 * time.Hour), RefreshExpiry: t0.Add(60 * 24 * time.Hour)},
	}
}

func testConnect(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	a, other := e.session(), e.session()

	c1, err := e.s.Connect(ctx, a, newConn("user-1", "access-1", "refresh-1"))
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID == "" || c1.UserID != "user-1" || c1.Tokens.Access != "access-1" {
		t.Fatalf("Connect = %+v", c1)
	}
	got, err := e.s.SessionConnection(ctx, a, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !equalConn(got, c1) {
		t.Fatalf("read back %+v\nwant %+v", got, c1)
	}
	if _, err := e.s.SessionConnection(ctx, other, c1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another session reads the connection: %v", err)
	}

	// The same account again: replaced in place, nothing duplicated.
	e.clock.Advance(time.Minute)
	again := NewConnection{UserID: "user-1", VehicleIDs: []string{"v2", "v3"}, Scopes: []string{"control_security"},
		Tokens: Tokens{Access: "access-2", Refresh: "refresh-2", AccessExpiry: t0.Add(3 * time.Hour)}}
	c2, err := e.s.Connect(ctx, a, again)
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID != c1.ID || !c2.CreatedAt.Equal(c1.CreatedAt) || !c2.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("reconnect: id %s→%s, created %v→%v, updated %v", c1.ID, c2.ID, c1.CreatedAt, c2.CreatedAt, c2.UpdatedAt)
	}
	got, _ = e.s.Connection(ctx, c1.ID)
	if got.Tokens.Access != "access-2" || got.Tokens.Refresh != "refresh-2" || !slices.Equal(got.VehicleIDs, []string{"v2", "v3"}) ||
		!slices.Equal(got.Scopes, []string{"control_security"}) || !got.Tokens.RefreshExpiry.IsZero() {
		t.Fatalf("after reconnect: %+v", got)
	}
	// One vehicle disconnected: only its id goes, the tokens stay.
	e.clock.Advance(time.Minute)
	if err := e.s.DropVehicle(ctx, c1.ID, "v2"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DropVehicle(ctx, c1.ID, "not-listed"); err != nil {
		t.Fatalf("dropping a vehicle the connection does not list: %v", err)
	}
	got, _ = e.s.Connection(ctx, c1.ID)
	if !slices.Equal(got.VehicleIDs, []string{"v3"}) || got.Tokens.Access != "access-2" || !got.UpdatedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after dropping v2: %+v", got)
	}
	// The same account from another session: linked there too, still one connection.
	if _, err := e.s.Connect(ctx, other, newConn("user-1", "access-3", "refresh-3")); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"users": 1, "connections": 1, "session_users": 2} {
		if n := e.count(table); n != want {
			t.Errorf("%s: %d rows, want %d", table, n, want)
		}
	}
	list, _, err := e.s.Connections(ctx, a, Page{})
	if err != nil || len(list) != 1 || list[0].Tokens.Access != "access-3" {
		t.Fatalf("session a sees %+v, %v; want the newest tokens", list, err)
	}

	// Disconnect: gone for every session.
	if err := e.s.DeleteConnection(ctx, c1.ID); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{a, other} {
		if list, _, err := e.s.Connections(ctx, s, Page{}); err != nil || len(list) != 0 {
			t.Fatalf("after disconnect: %+v, %v", list, err)
		}
	}
	if _, err := e.s.Connection(ctx, c1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted connection: %v", err)
	}
	if err := e.s.DeleteConnection(ctx, c1.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if err := e.s.DropVehicle(ctx, c1.ID, "v3"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("dropping a vehicle of a deleted connection: %v, want ErrNotFound", err)
	}
	if n := e.count("users"); n != 0 {
		t.Fatalf("%d users left", n)
	}
}

func equalConn(a, b Connection) bool {
	return a.ID == b.ID && a.UserID == b.UserID && a.SCUserID == b.SCUserID && slices.Equal(a.VehicleIDs, b.VehicleIDs) &&
		slices.Equal(a.Scopes, b.Scopes) && a.Tokens == b.Tokens &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

// Two tabs finishing Connect for the same new account at once: one user, one connection.
// testSoleConnections: a logout deletes only the connections no other live session
// uses.
func testSoleConnections(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	a, other := e.session(), e.session()
	mine, err := e.s.Connect(ctx, a, newConn("user-1", "access-1", "refresh-1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Connect(ctx, a, newConn("user-2", "access-2", "refresh-2")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Connect(ctx, other, newConn("user-2", "access-3", "refresh-3")); err != nil {
		t.Fatal(err)
	}
	got, err := e.s.SoleConnections(ctx, a, t0)
	if err != nil || len(got) != 1 || got[0].ID != mine.ID || got[0].Tokens.Access != "access-1" {
		t.Fatalf("SoleConnections = %+v, %v; want only user-1's", got, err)
	}
	// Once the other session has expired, user-2's connection is this one's alone.
	got, err = e.s.SoleConnections(ctx, a, t0.Add(48*time.Hour))
	if err != nil || len(got) != 2 {
		t.Fatalf("SoleConnections after the other session expired = %d, %v; want 2", len(got), err)
	}
}

func testConnectConcurrent(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	sess := e.session()
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			c, err := e.s.Connect(ctx, sess, newConn("user-x", fmt.Sprintf("a%d", i), "r"))
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = c.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent Connects of one account got connections %v", ids)
		}
	}
	if u, c := e.count("users"), e.count("connections"); u != 1 || c != 1 {
		t.Fatalf("%d users, %d connections; want 1 and 1", u, c)
	}
}

func testConnectionsPaging(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	sess, other := e.session(), e.session()
	var all []Connection
	for i := range 25 {
		c, err := e.s.Connect(ctx, sess, newConn(fmt.Sprintf("user-%02d", i), "a", "r"))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, c)
		if i%3 == 0 {
			e.clock.Advance(time.Second) // some share a timestamp, some do not
		}
	}
	// Newest first; among those linked in the same millisecond, by id.
	slices.SortFunc(all, func(a, b Connection) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	var want []string
	for _, c := range all {
		want = append(want, c.ID)
	}
	if _, err := e.s.Connect(ctx, other, newConn("someone-else", "a", "r")); err != nil {
		t.Fatal(err)
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more pages than 25/10 allows")
		}
		list, next, err := e.s.Connections(ctx, sess, Page{After: after, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list {
			got = append(got, c.ID)
		}
		if next == "" {
			if len(list) != 5 {
				t.Fatalf("last page has %d, want 5", len(list))
			}
			break
		}
		if len(list) != 10 {
			t.Fatalf("page %d has %d, want 10", pages, len(list))
		}
		after = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged through\n%v\nwant (newest first)\n%v", got, want)
	}
	if _, _, err := e.s.Connections(ctx, sess, Page{After: "garbage"}); err == nil {
		t.Fatal("a bad cursor was accepted")
	}
}

func testEncryption(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	sess := e.session()
	ca, err := e.s.Connect(ctx, sess, newConn("user-a", "ACCESS-SECRET-A", "REFRESH-SECRET-A"))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.s.Connect(ctx, sess, newConn("user-b", "ACCESS-SECRET-B", "REFRESH-SECRET-B"))
	if err != nil {
		t.Fatal(err)
	}
	// No column of any row holds a token.
	rows, err := e.raw().Query(`SELECT id, user_id, vehicle_ids, scopes, access_token, refresh_token FROM connections`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var cols [6]string
		if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5]); err != nil {
			t.Fatal(err)
		}
		if row := strings.Join(cols[:], " "); strings.Contains(row, "SECRET") {
			t.Fatalf("a token is stored in clear: %s", row)
		}
	}
	rows.Close()

	// A ciphertext moved to another row, or to the other column, does not open.
	if _, err := e.raw().Exec(`UPDATE connections SET access_token = (SELECT access_token FROM connections WHERE id = $1) WHERE id = $2`, ca.ID, cb.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.s.Connection(ctx, cb.ID)
	if !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a row with another row's ciphertext: err = %v, want ErrDecrypt", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("the error shows a token: %v", err)
	}
	if _, err := e.raw().Exec(`UPDATE connections SET access_token = refresh_token WHERE id = $1`, ca.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Connection(ctx, ca.ID); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("refresh token's ciphertext in the access column: err = %v, want ErrDecrypt", err)
	}
	if s := fmt.Sprintf("%v %+v %#v", ca.Tokens, ca, ca); strings.Contains(s, "SECRET") {
		t.Fatalf("formatting a connection shows its tokens: %s", s)
	}
}

func testKeyRotation(t *testing.T, b backend) {
	e := newEnv(t, b) // key 1
	ctx := t.Context()
	sess := e.session()
	old, err := e.s.Connect(ctx, sess, newConn("user-old", "access-old", "refresh-old"))
	if err != nil {
		t.Fatal(err)
	}
	// A new key goes first; data sealed with the old key still opens.
	both := e.open(func(o *Options) { o.Keys = [][]byte{key(2), key(1)} })
	if c, err := both.Connection(ctx, old.ID); err != nil || c.Tokens.Access != "access-old" {
		t.Fatalf("old row with keys [new, old]: %+v, %v", c, err)
	}
	fresh, err := both.Connect(ctx, sess, newConn("user-new", "access-new", "refresh-new"))
	if err != nil {
		t.Fatal(err)
	}
	// Written with the new key: the old key alone cannot read it, the new one can.
	oldOnly := e.open() // key 1
	if _, err := oldOnly.Connection(ctx, fresh.ID); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("new row with the old key only: err = %v, want ErrDecrypt", err)
	}
	newOnly := e.open(func(o *Options) { o.Keys = [][]byte{key(2)} })
	if c, err := newOnly.Connection(ctx, fresh.ID); err != nil || c.Tokens.Access != "access-new" {
		t.Fatalf("new row with the new key: %+v, %v", c, err)
	}
	// Bad keys are refused at Open.
	if _, err := e.tryOpen(func(o *Options) { o.Keys = nil }); err == nil {
		t.Fatal("Open without keys succeeded")
	}
	if _, err := e.tryOpen(func(o *Options) { o.Keys = [][]byte{[]byte("short")} }); err == nil {
		t.Fatal("Open with a 5-byte key succeeded")
	}
}

// refresher counts calls and hands out numbered token pairs.
type refresher struct {
	calls atomic.Int32
	gate  chan struct{} // if set, each call waits for it to close
}

func (r *refresher) refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	n := r.calls.Add(1)
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return Tokens{}, ctx.Err()
		}
	}
	return Tokens{
		Access:       fmt.Sprintf("access-%d", n+1),
		Refresh:      fmt.Sprintf("refresh-%d", n+1),
		AccessExpiry: t0.Add(4 * time.Hour),
	}, nil
}

func testRefreshOnce(t *testing.T, b backend) {
	e := newEnv(t, b)
	refreshAll(t, e, []*sqlStore{e.s}, 20)
}

// Several instances on one database (for SQLite, several processes on one file).
func testRefreshOnceTwoInstances(t *testing.T, b backend) {
	e := newEnv(t, b)
	refreshAll(t, e, []*sqlStore{e.s, e.open()}, 10)
}

// refreshAll has n goroutines per store refresh the same stale token at once, and
// checks that one refresh happened and everyone got its result.
func refreshAll(t *testing.T, e *env, stores []*sqlStore, n int) {
	ctx := t.Context()
	c, err := e.s.Connect(ctx, e.session(), newConn("user-r", "access-1", "refresh-1"))
	if err != nil {
		t.Fatal(err)
	}
	r := &refresher{gate: make(chan struct{})}
	var started sync.WaitGroup
	var wg sync.WaitGroup
	got := make(chan Connection, n*len(stores))
	for _, s := range stores {
		for range n {
			started.Add(1)
			wg.Go(func() {
				started.Done()
				fresh, err := s.RefreshConnection(ctx, c.ID, "access-1", r.refresh)
				if err != nil {
					t.Error(err)
					return
				}
				got <- fresh
			})
		}
	}
	// Hold the first refresh until every goroutine has started, so the others pile up
	// behind it.
	started.Wait()
	close(r.gate)
	wg.Wait()
	close(got)
	if calls := r.calls.Load(); calls != 1 {
		t.Fatalf("%d concurrent refreshes of one connection called refresh %d times, want 1", n*len(stores), calls)
	}
	count := 0
	for fresh := range got {
		count++
		if fresh.Tokens.Access != "access-2" || fresh.Tokens.Refresh != "refresh-2" {
			t.Fatalf("a caller got %s/%s, want the rotated pair", fresh.Tokens.Access, fresh.Tokens.Refresh)
		}
	}
	if count != n*len(stores) {
		t.Fatalf("%d of %d callers got a connection", count, n*len(stores))
	}
	stored, _ := e.s.Connection(ctx, c.ID)
	if stored.Tokens.Access != "access-2" || stored.Tokens.Refresh != "refresh-2" || !stored.Tokens.AccessExpiry.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("stored after refresh: %s/%s %v", stored.Tokens.Access, stored.Tokens.Refresh, stored.Tokens.AccessExpiry)
	}
}

// While instance A is refreshing, instance B's refresh of the same connection waits
// (PostgreSQL: on the row lock; SQLite: on A's lease), then returns A's tokens without
// calling refresh itself.
func testRefreshWaitsForOtherInstance(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	other := e.open()
	waiting := make(chan struct{}, 1)
	other.leaseBusy = func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}
	c, _ := e.s.Connect(ctx, e.session(), newConn("user-r", "access-1", "refresh-1"))
	var bCalls atomic.Int32
	bDone := make(chan error, 1)
	var bGot Connection
	refreshA := func(context.Context, string) (Tokens, error) {
		go func() {
			var err error
			bGot, err = other.RefreshConnection(ctx, c.ID, "access-1", func(context.Context, string) (Tokens, error) {
				bCalls.Add(1)
				return Tokens{Access: "access-b", Refresh: "refresh-b"}, nil
			})
			bDone <- err
		}()
		if e.s.postgres {
			waitForLockWaiter(t, e)
		} else {
			select {
			case <-waiting:
			case err := <-bDone:
				bDone <- err
				t.Error("instance B finished while A held the lease")
			}
		}
		return Tokens{Access: "access-a", Refresh: "refresh-a"}, nil
	}
	if _, err := e.s.RefreshConnection(ctx, c.ID, "access-1", refreshA); err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	if bCalls.Load() != 0 || bGot.Tokens.Access != "access-a" {
		t.Fatalf("instance B called refresh %d times and got %s; want 0 and A's token", bCalls.Load(), bGot.Tokens.Access)
	}
}

// waitForLockWaiter returns once a session of e's database waits for a row lock.
func waitForLockWaiter(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := e.raw().QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Error(err)
			return
		}
		if n > 0 {
			return
		}
	}
	t.Error("instance B never waited for the row lock")
}

func testRefreshSkippedWhenFresh(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	c, _ := e.s.Connect(ctx, e.session(), newConn("user-r", "access-1", "refresh-1"))
	r := &refresher{}
	got, err := e.s.RefreshConnection(ctx, c.ID, "an-older-token", r.refresh)
	if err != nil {
		t.Fatal(err)
	}
	if r.calls.Load() != 0 || got.Tokens.Access != "access-1" {
		t.Fatalf("stale seen token: %d calls, got %s; want no call and the stored token", r.calls.Load(), got.Tokens.Access)
	}
	if _, err := e.s.RefreshConnection(ctx, "no-such-connection", "x", r.refresh); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown connection: %v", err)
	}
}

// The browser gives up while Smartcar is rotating the tokens: the new pair is kept.
func testRefreshDetached(t *testing.T, b backend) {
	e := newEnv(t, b)
	c, _ := e.s.Connect(t.Context(), e.session(), newConn("user-r", "access-1", "refresh-1"))
	ctx, cancel := context.WithCancel(t.Context())
	inside := make(chan struct{})
	refresh := func(rctx context.Context, refreshToken string) (Tokens, error) {
		if refreshToken != "refresh-1" {
			t.Errorf("refresh got %q", refreshToken)
		}
		close(inside)
		cancel() // the caller goes away mid-refresh
		<-ctx.Done()
		if rctx.Err() != nil {
			t.Error("the refresh's context was cancelled with the caller's")
		}
		return Tokens{Access: "access-2", Refresh: "refresh-2"}, nil
	}
	_, err := e.s.RefreshConnection(ctx, c.ID, "access-1", refresh)
	<-inside
	if err != nil {
		t.Fatalf("refresh whose caller went away: %v", err)
	}
	stored, err := e.s.Connection(t.Context(), c.ID)
	if err != nil || stored.Tokens.Access != "access-2" || stored.Tokens.Refresh != "refresh-2" {
		t.Fatalf("after the caller went away: %s/%s, %v; want the rotated pair committed", stored.Tokens.Access, stored.Tokens.Refresh, err)
	}
}

type upstreamError struct{ code string }

func (e *upstreamError) Error() string { return "smartcar: " + e.code }

func testRefreshFailure(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	c, _ := e.s.Connect(ctx, e.session(), newConn("user-r", "access-1", "refresh-1"))
	e.clock.Advance(time.Minute)
	_, err := e.s.RefreshConnection(ctx, c.ID, "access-1", func(context.Context, string) (Tokens, error) {
		return Tokens{}, &upstreamError{"invalid_grant"}
	})
	var ue *upstreamError
	if !errors.As(err, &ue) || ue.code != "invalid_grant" {
		t.Fatalf("err = %v, want the refresh's *upstreamError", err)
	}
	stored, err := e.s.Connection(ctx, c.ID)
	if err != nil || !equalConn(stored, c) {
		t.Fatalf("after a failed refresh: %+v, %v\nwant unchanged %+v", stored, err, c)
	}
	// Nothing is left locked: the next refresh goes through.
	r := &refresher{}
	if got, err := e.s.RefreshConnection(ctx, c.ID, "access-1", r.refresh); err != nil || got.Tokens.Access != "access-2" {
		t.Fatalf("refresh after a failure: %+v, %v", got, err)
	}
}

// A Connect of the same account during a refresh: the Connect's tokens win.
func testRefreshLosesToConnect(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	sess := e.session()
	c, _ := e.s.Connect(ctx, sess, newConn("user-r", "access-1", "refresh-1"))
	done := make(chan error, 1)
	refresh := func(context.Context, string) (Tokens, error) {
		go func() {
			_, err := e.s.Connect(ctx, sess, newConn("user-r", "access-connect", "refresh-connect"))
			done <- err
		}()
		if !e.s.postgres {
			// SQLite's refresh holds no transaction: the Connect completes first.
			if err := <-done; err != nil {
				t.Error(err)
			}
			done <- nil
		}
		// PostgreSQL's Connect waits for the row lock, then replaces the refresh's pair.
		return Tokens{Access: "access-refreshed", Refresh: "refresh-refreshed"}, nil
	}
	if _, err := e.s.RefreshConnection(ctx, c.ID, "access-1", refresh); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stored, _ := e.s.Connection(ctx, c.ID)
	if stored.Tokens.Access != "access-connect" || stored.Tokens.Refresh != "refresh-connect" {
		t.Fatalf("stored %s/%s, want the Connect's pair", stored.Tokens.Access, stored.Tokens.Refresh)
	}
}

func testNewerSchema(t *testing.T, b backend) {
	e := newEnv(t, b)
	if _, err := e.raw().Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, $2)`, 999, true); err != nil {
		t.Fatal(err)
	}
	_, err := e.tryOpen()
	want := "store: database schema is version 999, this binary knows up to 3; upgrade the app"
	if err == nil || err.Error() != want {
		t.Fatalf("Open on a newer schema: %v\nwant %s", err, want)
	}
}

func testCancelled(t *testing.T, b backend) {
	e := newEnv(t, b)
	sess := e.session()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := e.s.Session(ctx, sess, t0)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("cancelled request: err = %v, want context.Canceled (not unavailable)", err)
	}
}

// Another client holds a lock the store needs past its query timeout (SQLite: another
// process's write transaction; PostgreSQL: a row lock): the call fails with
// ErrUnavailable instead of hanging, and works again once the lock is gone.
func testLockedIsUnavailable(t *testing.T, b backend) {
	e := newEnv(t, b, func(o *Options) { o.QueryTimeout = 200 * time.Millisecond })
	ctx := t.Context()
	sess := e.session()
	var other *sql.DB
	if e.s.postgres {
		other = e.raw()
	} else {
		var err error
		if other, err = sql.Open("sqlite", strings.TrimPrefix(e.url, "sqlite://")); err != nil {
			t.Fatal(err)
		}
		defer other.Close()
	}
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock := "BEGIN IMMEDIATE"
	if e.s.postgres {
		lock = "BEGIN"
	}
	if _, err := conn.ExecContext(ctx, lock); err != nil {
		t.Fatal(err)
	}
	if e.s.postgres {
		if _, err := conn.ExecContext(ctx, "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", hashID(sess)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.SetUnits(ctx, sess, "imperial"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("write while another client holds the lock: %v, want ErrUnavailable", err)
	}
	// Reads go on meanwhile.
	if _, err := e.s.Session(ctx, sess, t0); err != nil {
		t.Fatalf("read during another client's write: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.SetUnits(ctx, sess, "imperial"); err != nil {
		t.Fatalf("after the lock is released: %v", err)
	}
}

// testSCUserID: the sc-user-id of API v3 reads is stored with the user, comes with
// every read of its connection, is replaced by the next Connect like the tokens, and is
// never anything but the user's own, valid id.
func testSCUserID(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	a, other := e.session(), e.session()
	const user = "0b5e1c2a-7f5d-4d7e-9a51-3c1f0e2d4b6a"
	nc := newConn(user, "access-1", "refresh-1")
	nc.SCUserID = user
	c, err := e.s.Connect(ctx, a, nc)
	if err != nil || c.SCUserID != user {
		t.Fatalf("Connect = %+v, %v; want SCUserID %s", c, err, user)
	}
	first := func(list []Connection, err error) (Connection, error) {
		if err == nil && len(list) != 1 {
			err = fmt.Errorf("%d connections, want 1", len(list))
		}
		if err != nil {
			return Connection{}, err
		}
		return list[0], nil
	}
	for _, read := range []struct {
		name string
		fn   func() (Connection, error)
	}{
		{"SessionConnection", func() (Connection, error) { return e.s.SessionConnection(ctx, a, c.ID) }},
		{"Connection", func() (Connection, error) { return e.s.Connection(ctx, c.ID) }},
		{"Connections", func() (Connection, error) { list, _, err := e.s.Connections(ctx, a, Page{}); return first(list, err) }},
		{"SoleConnections", func() (Connection, error) { return first(e.s.SoleConnections(ctx, a, t0)) }},
		{"RefreshConnection", func() (Connection, error) {
			return e.s.RefreshConnection(ctx, c.ID, "access-1", func(context.Context, string) (Tokens, error) {
				return Tokens{Access: "access-2", Refresh: "refresh-2"}, nil
			})
		}},
	} {
		got, err := read.fn()
		if err != nil || got.SCUserID != user {
			t.Errorf("%s: SCUserID %q, %v; want %s", read.name, got.SCUserID, err, user)
		}
	}

	// Replaced by the newest Connect of the user (from any session), like the tokens.
	again := newConn(user, "access-3", "refresh-3")
	if c, err := e.s.Connect(ctx, other, again); err != nil || c.SCUserID != "" {
		t.Fatalf("reconnect without one: %+v, %v", c, err)
	}
	if got, _ := e.s.SessionConnection(ctx, a, c.ID); got.SCUserID != "" {
		t.Errorf("after a Connect without an sc-user-id: %q", got.SCUserID)
	}
	again.SCUserID = user
	if _, err := e.s.Connect(ctx, a, again); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.Connection(ctx, c.ID); got.SCUserID != user {
		t.Errorf("after a Connect with it again: %q", got.SCUserID)
	}

	// Refused, and nothing written: another user's id, or one that cannot be Smartcar's.
	users := e.count("users")
	for name, bad := range map[string]struct{ user, sc string }{
		"another user's":  {"user-2", user},
		"a space":         {"user 3", "user 3"},
		"a line break":    {"user\r\nx: 4", "user\r\nx: 4"},
		"too long":        {strings.Repeat("u", 129), strings.Repeat("u", 129)},
		"a placeholder's": {"unknown:abc", "unknown:abc"},
	} {
		nc := newConn(bad.user, "access-x", "refresh-x")
		nc.SCUserID = bad.sc
		if c, err := e.s.Connect(ctx, a, nc); err == nil {
			t.Errorf("%s sc-user-id %q accepted: %+v", name, bad.sc, c)
		}
	}
	if n := e.count("users"); n != users {
		t.Errorf("%d users after refused Connects, want %d", n, users)
	}
}

// rawDB opens the database at url (a store URL) without the store, for migration
// tests, with goose's dialect for it; closed with the test.
func rawDB(t *testing.T, url string) (*sql.DB, goose.Dialect) {
	t.Helper()
	driver, dsn, dialect := "sqlite", strings.TrimPrefix(url, "sqlite://"), goose.DialectSQLite3
	if !strings.HasPrefix(url, "sqlite://") {
		driver, dsn, dialect = "pgx", url, goose.DialectPostgres
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dialect
}

// testMigrateSCUserID: a database of schema 1 gets sc_user_id at Open, filled in for
// the users keyed by Smartcar's id and empty for the app's placeholders, and the
// migration goes down again.
func testMigrateSCUserID(t *testing.T, b backend) {
	url := b.newURL(t)
	db, dialect := rawDB(t, url)
	ctx := t.Context()
	initial, err := migrationFiles.ReadFile("migrations/00001_initial.sql")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := goose.NewProvider(dialect, db, fstest.MapFS{"00001_initial.sql": {Data: initial}}, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v1.Up(ctx); err != nil {
		t.Fatal(err)
	}
	// Two users as schema 1 stored them, each with a connection.
	box, err := newSealer([][]byte{key(1)})
	if err != nil {
		t.Fatal(err)
	}
	const smartcarID, placeholder = "5d2f8c1e-0a4b-4c3d-9e8f-7a6b5c4d3e2f", "unknown:Zm9v"
	for i, user := range []string{smartcarID, placeholder} {
		id := fmt.Sprintf("conn%d", i)
		if _, err := db.ExecContext(ctx, `INSERT INTO users (id, created_at, updated_at) VALUES ($1, 1, 1)`, user); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO connections (id, user_id, vehicle_ids, scopes, access_token, refresh_token,
			access_expires_at, refresh_expires_at, refresh_lease_until, created_at, updated_at)
			VALUES ($1, $2, '[]', '[]', $3, $4, 0, 0, 0, 1, 1)`,
			id, user, box.seal(id, colAccess, "a"), box.seal(id, colRefresh, "r")); err != nil {
			t.Fatal(err)
		}
	}

	st, err := Open(ctx, url, Options{Keys: [][]byte{key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"conn0": smartcarID, "conn1": ""} {
		c, err := st.Connection(ctx, id)
		if err != nil || c.SCUserID != want {
			t.Errorf("%s after the migration: SCUserID %q, %v; want %q", id, c.SCUserID, err, want)
		}
	}
	st.Close()

	all, err := goose.NewProvider(dialect, db, must(fs.Sub(migrationFiles, "migrations")), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := all.DownTo(ctx, 1); err != nil {
		t.Fatalf("migrating down to 1: %v", err)
	}
	if _, err := db.ExecContext(ctx, `SELECT sc_user_id FROM users`); err == nil {
		t.Error("sc_user_id is still there after the down migration")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func testConnectedVehicles(t *testing.T, b backend) {
	e := newEnv(t, b)
	ctx := t.Context()
	if ids, err := e.s.ConnectedVehicles(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("no connection: %v %v", ids, err)
	}
	a, other := e.session(), e.session()
	c1 := newConn("user-1", "access-1", "refresh-1")
	c1.VehicleIDs = []string{"v2", "v1"}
	c2 := newConn("user-2", "access-2", "refresh-2")
	c2.VehicleIDs = []string{"v1", "v3"}
	if _, err := e.s.Connect(ctx, a, c1); err != nil {
		t.Fatal(err)
	}
	conn2, err := e.s.Connect(ctx, other, c2)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := e.s.ConnectedVehicles(ctx); err != nil || !slices.Equal(ids, []string{"v1", "v2", "v3"}) {
		t.Fatalf("ConnectedVehicles = %v %v, want [v1 v2 v3]", ids, err)
	}
	if err := e.s.DeleteConnection(ctx, conn2.ID); err != nil {
		t.Fatal(err)
	}
	if ids, err := e.s.ConnectedVehicles(ctx); err != nil || !slices.Equal(ids, []string{"v1", "v2"}) {
		t.Fatalf("after a disconnect: %v %v, want [v1 v2]", ids, err)
	}
}
