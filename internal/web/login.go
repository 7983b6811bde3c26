package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
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
func handleLogin(up *upstream, store *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := store.load(r)
		state, err := newState()
		if err != nil {
			return err
		}
		sess.State = state
		p := &loginPage{
			basePage:   basePage{Title: "Connect your vehicle", SignedIn: len(sess.Connections) > 0, Units: sess.Units, Flash: sess.takeFlash()},
			ConnectURL: up.cfg.AuthCodeURL(state),
			Connected:  len(sess.Connections),
		}
		if sess.Rejected {
			p.Reason = "Your session could not be read (it may have expired), so please connect again."
		}
		if err := store.save(w, r, sess); err != nil {
			return err
		}
		pages.render(w, r, http.StatusOK, "login", p)
		return nil
	}
}

// handleConnect starts Connect straight away ("Connect another vehicle").
func handleConnect(up *upstream, store *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := store.load(r)
		state, err := newState()
		if err != nil {
			return err
		}
		sess.State = state
		if err := store.save(w, r, sess); err != nil {
			return err
		}
		http.Redirect(w, r, up.cfg.AuthCodeURL(state), http.StatusFound)
		return nil
	}
}

// handleLogout forgets every token and goes back to /login.
func handleLogout(store *sessionStore) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := store.load(r)
		if err := store.clear(w, r, sess); err != nil {
			return err
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
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
