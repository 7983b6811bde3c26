package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/page"
	"smartcargo/internal/smartcar"
	"smartcargo/internal/store"
)

type loginPage struct {
	basePage
	// Connected is whether the session already has a connection.
	Connected bool
	// Reason explains why the user landed here (e.g. the session expired).
	Reason string

	// link and state make ConnectURL; the state is the only part that differs between
	// two views of the page by the same kind of visitor.
	link  *connectLink
	state string
}

// ConnectURL starts Smartcar Connect with the page's fresh state. It is built only
// when the page is rendered in full: a spliced view never needs it.
func (p loginPage) ConnectURL() string {
	if p.link == nil {
		return ""
	}
	return p.link.with(p.state)
}

// SpliceToken lets the renderer reuse one rendering of the page for every visitor in
// the same situation (page.Spliceable): the state is the only difference. A page with
// a one-time flash message is not worth keeping.
func (p *loginPage) SpliceToken() string {
	if p.Flash.Message != "" {
		return ""
	}
	return p.state
}

// WithSpliceToken is the page with another state in the Connect URL, as a value (the
// renderer's cache key).
func (p *loginPage) WithSpliceToken(token string) any {
	c := *p
	c.state = token
	return c
}

var _ page.Spliceable = (*loginPage)(nil)

// handleLogin shows the "Connect your vehicle" page. Each view adds a fresh pending
// state to the session; /exchange accepts any of the session's recent states once.
func handleLogin(link *connectLink, sessions *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := sessions.load(w, r)
		if err != nil {
			return err
		}
		state, err := newState()
		if err != nil {
			return err
		}
		if err := sessions.addState(w, r, sess, state); err != nil {
			return err
		}
		connected, err := sessions.hasConnections(r.Context(), sess)
		if err != nil {
			return err
		}
		f, err := sessions.takeFlash(r.Context(), sess)
		if err != nil {
			return err
		}
		pages.render(w, r, http.StatusOK, "login", newLoginPage(link, connected, sess.Units, f, sess.Rejected, state))
		return nil
	}
}

// newLoginPage is the login page of a session with a connection or not, units, flash
// and whether its cookie was refused, with state in its Connect URL.
func newLoginPage(link *connectLink, connected bool, units string, f flash, rejected bool, state string) *loginPage {
	p := &loginPage{
		basePage:  basePage{Title: "Connect your vehicle", SignedIn: connected, Units: units, Flash: f},
		Connected: connected,
		link:      link,
		state:     state,
	}
	if rejected {
		p.Reason = "Your session could not be read (it may have expired), so please connect again."
	}
	return p
}

// prepareLogin puts a new visitor's login page, the commonest page, into the splice
// cache at start (whatever the first requests are), and fails if it would not splice.
func prepareLogin(pages *renderer, link *connectLink) error {
	state, err := newState()
	if err != nil {
		return err
	}
	p := newLoginPage(link, false, "metric", flash{}, false, state) // what a newcomer gets
	pages.fill(p, "/login")
	if err := pages.pages.Prepare("login", p); err != nil {
		return fmt.Errorf("login page: %w", err)
	}
	return nil
}

// connectLink is the Connect URL split around its state, built once: /login is the
// busiest page (every visitor, every bot), and building the URL from its parameters
// costs more than the rest of the page. Splicing is exact: a state is base64url, which
// query encoding leaves as it is.
type connectLink struct {
	before, after string
}

func newConnectLink(cfg *smartcar.Config) (*connectLink, error) {
	// A placeholder with a state's alphabet that appears nowhere else.
	const placeholder = "sTaTe0pLaCeHoLdEr0xYz0"
	before, after, ok := strings.Cut(cfg.AuthCodeURL(placeholder), placeholder)
	if !ok || strings.Contains(after, placeholder) {
		return nil, fmt.Errorf("connect URL: want the state exactly once")
	}
	return &connectLink{before: before, after: after}, nil
}

// with returns the Connect URL for state, which must be base64url (see newState).
func (l *connectLink) with(state string) string { return l.before + state + l.after }

// handleConnect starts Connect straight away ("Connect another vehicle").
func handleConnect(link *connectLink, sessions *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := sessions.load(w, r)
		if err != nil {
			return err
		}
		state, err := newState()
		if err != nil {
			return err
		}
		if err := sessions.addState(w, r, sess, state); err != nil {
			return err
		}
		http.Redirect(w, r, link.with(state), http.StatusFound)
		return nil
	}
}

// handleLogout deletes the server session, so that every copy of its cookie is dead
// at once on every instance, then revokes at Smartcar and deletes the connections that
// no other session uses, and goes back to /login.
func handleLogout(log *slog.Logger, up *upstream, sessions *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := sessions.load(w, r)
		if err != nil {
			return err
		}
		var sole []store.Connection
		if sess.id != "" {
			if sole, err = up.st.SoleConnections(r.Context(), sess.id, up.now()); err != nil {
				return err
			}
		}
		if err := sessions.clear(w, r, sess); err != nil {
			return err
		}
		up.revoke(r.Context(), log, sole)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
}

// revokeTimeout bounds the revocations of a logout, which finish even if the browser
// goes away.
const revokeTimeout = 10 * time.Second

// revoke asks Smartcar to revoke each connection's access to its vehicles (DELETE
// /v2.0/vehicles/{id}/application), best effort, and deletes the connections.
func (u *upstream) revoke(ctx context.Context, log *slog.Logger, conns []store.Connection) {
	if len(conns) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	reqID := middleware.GetReqID(ctx)
	for _, c := range conns {
		api := u.client(ctx, c)
		for _, id := range c.VehicleIDs {
			if _, err := api.Disconnect(ctx, id); err != nil {
				log.Info("revoking a vehicle at logout", "request_id", reqID, "err", err)
			}
		}
		if err := u.st.DeleteConnection(ctx, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			log.Error("deleting a connection at logout", "request_id", reqID, "err", err)
		}
	}
}

func handleHealthz() http.HandlerFunc {
	contentType := []string{"text/plain; charset=utf-8"}
	ok := []byte("ok")
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = contentType
		w.Write(ok)
	}
}

// newState returns 128 random bits for the OAuth state parameter, base64url.
func newState() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
