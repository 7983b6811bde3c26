package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"smartcargo/internal/sandbox/journal"
	"smartcargo/internal/sandbox/sim"
	"smartcargo/internal/sandbox/webhooks"
)

// The sandbox's state survives a restart when Options.DataDir is set: a JSON snapshot
// (sandbox.json) of its codes, tokens, approvals, vehicles with their simulations and
// command state, the clock's offset and the journal, replaced atomically (written to a
// temporary file, synced, renamed) at most once per saveInterval while something
// changed, and once more at shutdown. Connect sessions in progress are not kept (a
// restart in the middle of Connect means starting Connect again), nor are faults. The
// webhooks, their subscriptions and what each vehicle was last sent are kept (and a
// generated management token); pending deliveries and their retries are dropped.

const (
	// journalKept caps the journal entries a snapshot keeps (the newest).
	journalKept     = 500
	snapshotFile    = "sandbox.json"
	snapshotVersion = 1
	saveInterval    = time.Second
)

type snapshot struct {
	Version     int                    `json:"version"`
	SavedAt     time.Time              `json:"savedAt"`
	ClockOffset time.Duration          `json:"clockOffset"`
	SimLead     time.Duration          `json:"simLead"`
	Grants      []snapGrant            `json:"grants"`
	Latest      []int                  `json:"latest"` // indexes into Grants
	Codes       map[string]snapCode    `json:"codes"`
	Access      map[string]snapToken   `json:"access"`
	Refresh     map[string]snapToken   `json:"refresh"`
	AppTokens   map[string]appToken    `json:"appTokens,omitempty"`
	Approvals   []string               `json:"approvals"`
	Vehicles    map[string]snapVehicle `json:"vehicles"`
	Sims        map[string]*sim.State  `json:"sims"`
	Journal     []journal.Entry        `json:"journal"`
	// ManagementToken is kept only when the sandbox generated it.
	ManagementToken string `json:"managementToken,omitempty"`
	// ManagementTokens are the other clients' (always generated), by client id.
	ManagementTokens map[string]string `json:"managementTokens,omitempty"`
	Webhooks         *webhooks.State   `json:"webhooks,omitempty"`
}

type snapGrant struct {
	ClientID string    `json:"clientId"`
	UserID   string    `json:"userId"`
	Email    string    `json:"email"`
	Scopes   []string  `json:"scopes"`
	Vehicles []vehicle `json:"vehicles"`
	Mode     string    `json:"mode"`
	Created  time.Time `json:"created"`
	Revoked  []string  `json:"revoked,omitempty"`
}

type snapCode struct {
	Grant       int       `json:"grant"`
	RedirectURI string    `json:"redirectUri"`
	Expires     time.Time `json:"expires"`
}

type snapToken struct {
	Grant   int       `json:"grant"`
	Expires time.Time `json:"expires"`
	UsedAt  time.Time `json:"usedAt,omitzero"`
}

type snapVehicle struct {
	ChargeLimit    float64 `json:"chargeLimit,omitempty"`
	HasChargeLimit bool    `json:"hasChargeLimit,omitempty"`
	Locked         bool    `json:"locked,omitempty"`
	HasLock        bool    `json:"hasLock,omitempty"`
}

// snapshot captures the state under the store's lock.
func (s *server) snapshot() *snapshot {
	snap := &snapshot{Version: snapshotVersion, SavedAt: time.Now().UTC(), ClockOffset: s.clock.Offset(), SimLead: s.clock.simLead(),
		Codes: map[string]snapCode{}, Access: map[string]snapToken{}, Refresh: map[string]snapToken{},
		Vehicles: map[string]snapVehicle{}, Sims: map[string]*sim.State{}, Journal: s.journal.All()}
	if n := len(snap.Journal) - journalKept; n > 0 {
		snap.Journal = snap.Journal[n:]
	}
	if s.generatedToken {
		snap.ManagementToken = s.hooks.Token()
	}
	for _, c := range s.amts[1:] {
		if snap.ManagementTokens == nil {
			snap.ManagementTokens = map[string]string{}
		}
		snap.ManagementTokens[c.clientID] = c.token
	}
	hooks := s.hooks.Export()
	snap.Webhooks = &hooks
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	index := map[*grant]int{}
	ref := func(g *grant) int {
		if i, ok := index[g]; ok {
			return i
		}
		sg := snapGrant{ClientID: g.ClientID, UserID: g.UserID, Email: g.Email, Scopes: g.Scopes, Mode: g.Mode, Created: g.Created}
		for _, v := range g.Vehicles {
			sg.Vehicles = append(sg.Vehicles, *v)
		}
		for id, r := range g.revoked {
			if r {
				sg.Revoked = append(sg.Revoked, id)
			}
		}
		slices.Sort(sg.Revoked)
		index[g] = len(snap.Grants)
		snap.Grants = append(snap.Grants, sg)
		return index[g]
	}
	for _, g := range st.grants {
		snap.Latest = append(snap.Latest, ref(g))
	}
	slices.Sort(snap.Latest)
	for k, c := range st.codes {
		snap.Codes[k] = snapCode{Grant: ref(c.Grant), RedirectURI: c.RedirectURI, Expires: c.Expires}
	}
	for k, t := range st.access {
		snap.Access[k] = snapToken{Grant: ref(t.Grant), Expires: t.Expires}
	}
	for k, t := range st.refresh {
		snap.Refresh[k] = snapToken{Grant: ref(t.Grant), Expires: t.Expires, UsedAt: t.UsedAt}
	}
	for k, t := range st.appTokens {
		if snap.AppTokens == nil {
			snap.AppTokens = map[string]appToken{}
		}
		snap.AppTokens[k] = *t
	}
	for k, ok := range st.approvals {
		if ok {
			snap.Approvals = append(snap.Approvals, k)
		}
	}
	slices.Sort(snap.Approvals)
	for id, vs := range st.vehicles {
		snap.Vehicles[id] = snapVehicle{ChargeLimit: vs.chargeLimit, HasChargeLimit: vs.hasChargeLimit, Locked: vs.locked, HasLock: vs.hasLock}
	}
	for id, sm := range st.sims {
		c := *sm
		c.Past = slices.Clone(sm.Past)
		snap.Sims[id] = &c
	}
	return snap
}

// restore replaces the (fresh) state with a snapshot's.
func (s *server) restore(snap *snapshot) error {
	if snap.Version != snapshotVersion {
		return fmt.Errorf("snapshot version %d, this sandbox reads %d", snap.Version, snapshotVersion)
	}
	grants := make([]*grant, len(snap.Grants))
	for i, sg := range snap.Grants {
		g := &grant{ClientID: sg.ClientID, UserID: sg.UserID, Email: sg.Email, Scopes: sg.Scopes, Mode: sg.Mode, Created: sg.Created}
		for _, v := range sg.Vehicles {
			v := v
			g.Vehicles = append(g.Vehicles, &v)
		}
		for _, id := range sg.Revoked {
			g.disconnect(id) // not shared yet: no lock needed
		}
		grants[i] = g
	}
	get := func(i int) (*grant, error) {
		if i < 0 || i >= len(grants) {
			return nil, fmt.Errorf("snapshot refers to grant %d of %d", i, len(grants))
		}
		return grants[i], nil
	}
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, i := range snap.Latest {
		g, err := get(i)
		if err != nil {
			return err
		}
		st.grants[keyOf(g)] = g
	}
	for k, c := range snap.Codes {
		g, err := get(c.Grant)
		if err != nil {
			return err
		}
		st.codes[k] = &authCode{Grant: g, RedirectURI: c.RedirectURI, Expires: c.Expires}
	}
	for k, t := range snap.Access {
		g, err := get(t.Grant)
		if err != nil {
			return err
		}
		st.access[k] = &accessToken{Grant: g, Expires: t.Expires}
	}
	for k, t := range snap.Refresh {
		g, err := get(t.Grant)
		if err != nil {
			return err
		}
		st.refresh[k] = &refreshToken{Grant: g, Expires: t.Expires, UsedAt: t.UsedAt}
	}
	for k, t := range snap.AppTokens {
		st.appTokens[k] = &t
	}
	for _, k := range snap.Approvals {
		st.approvals[k] = true
	}
	for id, sv := range snap.Vehicles {
		vs := st.vehicleState(id)
		vs.chargeLimit, vs.hasChargeLimit, vs.locked, vs.hasLock = sv.ChargeLimit, sv.HasChargeLimit, sv.Locked, sv.HasLock
	}
	for id, sm := range snap.Sims {
		if sm != nil {
			st.sims[id] = sm
		}
	}
	s.journal.Restore(snap.Journal)
	s.clock.restore(snap.ClockOffset, snap.SimLead)
	if snap.Webhooks != nil {
		s.hooks.Import(*snap.Webhooks)
	}
	return nil
}

// persister saves snapshots in the background while the state changes.
type persister struct {
	path  string
	take  func() *snapshot
	log   func(err error)
	dirty atomic.Bool
	mu    sync.Mutex // one save at a time
	once  sync.Once
	stop  chan struct{}
	done  chan struct{}
}

// loadSnapshot reads dir's snapshot; nil (and no error) when there is none yet.
func loadSnapshot(dir string) (*snapshot, error) {
	b, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("%s is not a sandbox snapshot (%v); move it away to start afresh", filepath.Join(dir, snapshotFile), err)
	}
	return &snap, nil
}

func newPersister(dir string, take func() *snapshot, log func(error)) (*persister, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &persister{path: filepath.Join(dir, snapshotFile), take: take, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go p.loop()
	return p, nil
}

func (p *persister) changed() { p.dirty.Store(true) }

func (p *persister) loop() {
	defer close(p.done)
	t := time.NewTicker(saveInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if p.dirty.Swap(false) {
				if err := p.save(); err != nil {
					p.dirty.Store(true)
					p.log(err)
				}
			}
		case <-p.stop:
			return
		}
	}
}

// close stops the background saves and saves once more; later calls save again
// (Close after Shutdown).
func (p *persister) close() error {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	return p.save()
}

// save writes a snapshot atomically: a crash leaves the old file or the new one.
func (p *persister) save() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, err := json.Marshal(p.take())
	if err != nil {
		return fmt.Errorf("sandbox snapshot: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), ".sandbox-*.json")
	if err != nil {
		return fmt.Errorf("sandbox snapshot: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p.path)
	}
	if err != nil {
		return fmt.Errorf("sandbox snapshot: %w", err)
	}
	return nil
}
