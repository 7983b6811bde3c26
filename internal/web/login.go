package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"smartcargo/internal/store"
)

type loginPage struct {
	basePage
	// ConnectURL starts Smartcar Connect with a fresh state.
	ConnectURL string
	// Connected is how many connections the session already has.
	Connected int
	// Reason explains why the user landed here (e.g. the session expired).
	Reason string
}

// handleLogin shows the "Connect your vehicle" page. Each view stores a fresh state in
// the session; /exchange accepts only that state.
func handleLogin(up *upstream, sessions *sessionStore, pages *renderer, anon *loginTemplate) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess, err := sessions.load(w, r)
		if err != nil {
			return err
		}
		state, err := newState()
		if err != nil {
			return err
		}
		wasNew, rejected := sess.id == "", sess.Rejected
		if err := sessions.addState(w, r, sess, state); err != nil {
			return err
		}
		var conns []store.Connection
		if !wasNew {
			if conns, _, err = sessions.st.Connections(r.Context(), sess.id, store.Page{Limit: 1000}); err != nil {
				return err
			}
		}
		if len(conns) == 0 && !rejected && sess.Flash.Message == "" {
			// A newcomer: the page is the same for everyone but the state.
			anon.write(w, state)
			return nil
		}
		f, err := sessions.takeFlash(r.Context(), sess)
		if err != nil {
			return err
		}
		p := &loginPage{
			basePage:   basePage{Title: "Connect your vehicle", SignedIn: len(conns) > 0, Units: sess.Units, Flash: f},
			ConnectURL: up.cfg.AuthCodeURL(state),
			Connected:  len(conns),
		}
		if rejected {
			p.Reason = "Your session could not be read (it may have expired), so please connect again."
		}
		pages.render(w, r, http.StatusOK, "login", p)
		return nil
	}
}

// loginTemplate is the login page of a visitor with no session, rendered once at start
// with a placeholder state and split around it. /login is the busiest page (every
// visitor, every bot) and html/template costs more than everything else it does, so
// each view only splices its fresh state between the two halves. That is exact: a state
// is base64url, which neither query encoding nor HTML escaping changes.
type loginTemplate struct {
	before, after []byte
}

// statePlaceholder has a state's length and alphabet and appears nowhere else.
const statePlaceholder = "sTaTe0pLaCeHoLdEr0xYz0"

func newLoginTemplate(up *upstream, pages *renderer) (*loginTemplate, error) {
	p := &loginPage{
		basePage:   basePage{Title: "Connect your vehicle"},
		ConnectURL: up.cfg.AuthCodeURL(statePlaceholder),
	}
	pages.fill(p, "/login")
	body, err := pages.pages.Execute("login", p)
	if err != nil {
		return nil, err
	}
	before, after, ok := bytes.Cut(body, []byte(statePlaceholder))
	if !ok || bytes.Contains(after, []byte(statePlaceholder)) {
		return nil, fmt.Errorf("login page: want the Connect URL's state exactly once")
	}
	return &loginTemplate{before: before, after: after}, nil
}

func (t *loginTemplate) write(w http.ResponseWriter, state string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(t.before)+len(state)+len(t.after)))
	w.WriteHeader(http.StatusOK)
	w.Write(t.before)
	io.WriteString(w, state)
	w.Write(t.after)
}

// handleConnect starts Connect straight away ("Connect another vehicle").
func handleConnect(up *upstream, sessions *sessionStore) handlerFunc {
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
		http.Redirect(w, r, up.cfg.AuthCodeURL(state), http.StatusFound)
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
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	}
}

// newState returns 128 random bits for the OAuth state parameter.
func newState() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random state: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
