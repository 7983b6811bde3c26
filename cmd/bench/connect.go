package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"smartcargo/internal/connectwalk"
	"smartcargo/internal/htmlpage"
)

// browser is a cookie-keeping HTTP client that stops at each redirect; connectwalk
// takes it through Smartcar Connect by submitting the pages' forms.
type browser struct {
	client *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{client: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// page is a fetched response with its body read.
type page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(ctx context.Context, method, target string, form url.Values) (*page, error) {
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if form != nil {
		u, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		u.RawQuery = form.Encode()
		target = u.String()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// Like a browser: the app's cross-origin protection trusts same-origin posts.
		req.Header.Set("Origin", req.URL.Scheme+"://"+req.URL.Host)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	return &page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}, nil
}

func (b *browser) get(ctx context.Context, target string) (*page, error) {
	return b.do(ctx, http.MethodGet, target, nil)
}

// loginApp opens the app's /login page (which puts a fresh state in the session
// cookie), follows its Connect link through Connect as email, and lets the app
// exchange the code at its redirect URI, which must answer with a redirect (to its
// vehicle page). After it the browser holds a signed-in session (or, for the Express
// tutorial, the app holds the token in its global).
func (b *browser) loginApp(ctx context.Context, appURL, email string) error {
	p, err := b.get(ctx, appURL+"/login")
	if err != nil {
		return err
	}
	if p.Status != http.StatusOK {
		return fmt.Errorf("%s/login answered %d: %s", appURL, p.Status, htmlpage.Snippet(p.Body))
	}
	link := connectLink(p.Body)
	if link == "" {
		return fmt.Errorf("no Connect link on %s/login: %s", appURL, htmlpage.Snippet(p.Body))
	}
	back, err := connectwalk.Walk(ctx, b.client, link, connectwalk.Options{Email: email})
	if err != nil {
		return err
	}
	if back.Query().Get("code") == "" {
		return fmt.Errorf("connect ended without a code: %s", back.Redacted())
	}
	p, err = b.get(ctx, back.String())
	if err != nil {
		return err
	}
	if p.Status < 300 || p.Status >= 400 {
		return fmt.Errorf("%s answered %d, want a redirect: %s", back.Path, p.Status, htmlpage.Snippet(p.Body))
	}
	return nil
}

// connectLink finds the Connect URL on a login page: a link's href (our app), else
// the URL quoted in an onclick's window.location.href='…' (the Express tutorial).
// Attribute values come entity-decoded from the parser.
func connectLink(body string) string {
	const authorize = "/oauth/authorize"
	el, ok := htmlpage.Parse(body).First(`a[href*="` + authorize + `"], [onclick*="` + authorize + `"]`)
	if !ok {
		return ""
	}
	if href := el.Attr("href"); strings.Contains(href, authorize) {
		return href
	}
	// The onclick is script: take the quoted string around the URL's path.
	js := el.Attr("onclick")
	i := strings.Index(js, authorize)
	start := strings.LastIndexAny(js[:i], `"'`)
	end := strings.IndexAny(js[i:], `"'`)
	if start < 0 || end < 0 {
		return ""
	}
	return js[start+1 : i+end]
}

// token is the part of an OAuth token response the benchmark needs.
type token struct {
	AccessToken string `json:"access_token"`
}

// directToken walks Connect for a registered client without any app and exchanges the
// code itself, for benchmarking the sandbox's API directly.
func directToken(ctx context.Context, origin, clientID, secret, redirectURI, email string) (string, error) {
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI},
		"scope": {"read_vehicle_info read_odometer"}, "mode": {"test"}, "state": {"bench"},
		"approval_prompt": {"force"},
	}
	b := newBrowser()
	back, err := connectwalk.Walk(ctx, b.client, origin+"/oauth/authorize?"+q.Encode(), connectwalk.Options{Email: email})
	if err != nil {
		return "", err
	}
	code := back.Query().Get("code")
	if code == "" {
		return "", fmt.Errorf("connect ended without a code: %s", back.Redacted())
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, origin+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(clientID, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var t token
	if err := json.Unmarshal(raw, &t); err != nil || t.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %d: %s", resp.StatusCode, htmlpage.Snippet(string(raw)))
	}
	return t.AccessToken, nil
}
