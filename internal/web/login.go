package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"smartcargo/internal/page"
	"smartcargo/internal/smartcar"
)

type loginPage struct {
	basePage
	// ConnectURL starts Smartcar Connect with a fresh state.
	ConnectURL string
	// Connected is how many connections the session already has.
	Connected int
	// Reason explains why the user landed here (e.g. the session expired).
	Reason string

	// state is the state inside ConnectURL, the only part that differs between two
	// views of the page by the same kind of visitor.
	state string
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
	c.ConnectURL = strings.Replace(p.ConnectURL, p.state, token, 1)
	c.state = token
	return c
}

var _ page.Spliceable = (*loginPage)(nil)

// handleLogin shows the "Connect your vehicle" page. Each view stores a fresh state in
// the session; /exchange accepts only that state.
func handleLogin(link *connectLink, store *sessionStore, pages *renderer) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := store.load(r)
		state, err := newState()
		if err != nil {
			return err
		}
		sess.State = state
		p := newLoginPage(link, sess, state)
		if err := store.save(w, r, sess); err != nil {
			return err
		}
		pages.render(w, r, http.StatusOK, "login", p)
		return nil
	}
}

// newLoginPage is the login page of sess, with state in its Connect URL.
func newLoginPage(link *connectLink, sess *session, state string) *loginPage {
	p := &loginPage{
		basePage:   basePage{Title: "Connect your vehicle", SignedIn: len(sess.Connections) > 0, Units: sess.Units, Flash: sess.takeFlash()},
		ConnectURL: link.with(state),
		Connected:  len(sess.Connections),
		state:      state,
	}
	if sess.Rejected {
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
	p := newLoginPage(link, &session{Units: "metric"}, state) // what load gives a newcomer
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
func handleConnect(link *connectLink, store *sessionStore) handlerFunc {
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
		http.Redirect(w, r, link.with(state), http.StatusFound)
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
