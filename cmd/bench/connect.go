package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// browser is a cookie-keeping HTTP client that follows Smartcar Connect by submitting
// its HTML forms, as a person without JavaScript would. It stops at each redirect so
// the walk can tell when it has reached the app's redirect URI.
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

// connect walks Smartcar Connect from authURL, logging in as email, approving every
// vehicle, until a redirect to a URL starting with stopPrefix (the app's redirect URI),
// which it returns without following.
func (b *browser) connect(ctx context.Context, authURL, email, stopPrefix string) (*url.URL, error) {
	p, err := b.get(ctx, authURL)
	if err != nil {
		return nil, err
	}
	for step := 0; step < 20; step++ {
		if p.Status >= 300 && p.Status < 400 {
			loc, err := p.URL.Parse(p.Header.Get("Location"))
			if err != nil {
				return nil, fmt.Errorf("bad redirect from %s: %w", p.URL, err)
			}
			if strings.HasPrefix(loc.String(), stopPrefix) {
				return loc, nil
			}
			if p, err = b.get(ctx, loc.String()); err != nil {
				return nil, err
			}
			continue
		}
		if p.Status != http.StatusOK {
			return nil, fmt.Errorf("connect: %s answered %d: %s", p.URL, p.Status, snippet(p.Body))
		}
		forms := parseForms(p.Body)
		// The DOM hooks of real Connect (smartcar-api.md §7.3), most advanced step first.
		var next *url.Values
		var f *form
		for _, id := range []string{"approval-button", "sign-in-button", "continue-button", ".brand-list-item"} {
			if f = findForm(forms, id); f != nil {
				v := f.submit(id, email)
				next = &v
				break
			}
		}
		if f == nil {
			return nil, fmt.Errorf("connect: no known form on %s: %s", p.URL, snippet(p.Body))
		}
		action, err := p.URL.Parse(f.Action)
		if err != nil {
			return nil, err
		}
		if p, err = b.do(ctx, f.Method, action.String(), *next); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("connect: more than 20 steps without reaching the redirect URI")
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
		return fmt.Errorf("%s/login answered %d: %s", appURL, p.Status, snippet(p.Body))
	}
	link := connectLink(p.Body)
	if link == "" {
		return fmt.Errorf("no Connect link on %s/login: %s", appURL, snippet(p.Body))
	}
	redirectURI, err := redirectURIOf(link)
	if err != nil {
		return err
	}
	back, err := b.connect(ctx, link, email, redirectURI)
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
		return fmt.Errorf("%s answered %d, want a redirect: %s", back.Path, p.Status, snippet(p.Body))
	}
	return nil
}

// redirectURIOf returns the redirect_uri parameter of a Connect URL.
func redirectURIOf(authURL string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", err
	}
	r := u.Query().Get("redirect_uri")
	if r == "" || r == "undefined" {
		return "", fmt.Errorf("connect URL has no redirect_uri: %s", authURL)
	}
	return r, nil
}

var connectLinkRE = regexp.MustCompile(`["']([^"']*/oauth/authorize[^"']*)["']`)

// connectLink finds the Connect URL on a login page: an href (our app) or the
// onclick's window.location.href (the Express tutorial), HTML-unescaped.
func connectLink(body string) string {
	m := connectLinkRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
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
	back, err := b.connect(ctx, origin+"/oauth/authorize?"+q.Encode(), email, redirectURI)
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
		return "", fmt.Errorf("token endpoint answered %d: %s", resp.StatusCode, snippet(string(raw)))
	}
	return t.AccessToken, nil
}

// form is an HTML form as far as submitting it goes.
type form struct {
	Action, Method string
	Fields         []field
}

// field is one input, button, select or textarea of a form.
type field struct {
	Tag                          string
	ID, Class, Name, Value, Type string
	Checked                      bool
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	fieldRE = regexp.MustCompile(`(?is)<(input|button|select|textarea)\b([^>]*)>`)
	optRE   = regexp.MustCompile(`(?is)<option\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// parseForms extracts the forms of a page. It is a small scanner for the sandbox's
// plain server-rendered HTML, not a general HTML parser.
func parseForms(body string) []form {
	var forms []form
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		a := attrs(m[1])
		f := form{Action: a["action"], Method: strings.ToUpper(a["method"])}
		if f.Method != http.MethodPost {
			f.Method = http.MethodGet
		}
		inner := m[2]
		for _, fm := range fieldRE.FindAllStringSubmatchIndex(inner, -1) {
			tag := strings.ToLower(inner[fm[2]:fm[3]])
			fa := attrs(inner[fm[4]:fm[5]])
			_, checked := fa["checked"]
			fl := field{Tag: tag, ID: fa["id"], Class: fa["class"], Name: fa["name"], Value: fa["value"], Type: strings.ToLower(fa["type"]), Checked: checked}
			if tag == "select" {
				// The first option, or the selected one.
				rest := inner[fm[1]:]
				end := strings.Index(strings.ToLower(rest), "</select>")
				if end >= 0 {
					rest = rest[:end]
				}
				for i, om := range optRE.FindAllStringSubmatch(rest, -1) {
					oa := attrs(om[1])
					if _, sel := oa["selected"]; sel || i == 0 {
						fl.Value = oa["value"]
					}
				}
			}
			f.Fields = append(f.Fields, fl)
		}
		forms = append(forms, f)
	}
	return forms
}

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		v := m[2] + m[3] + m[4]
		out[strings.ToLower(m[1])] = html.UnescapeString(v)
	}
	return out
}

// matches reports whether a field is the control sel names: "#id" style ids are given
// bare ("approval-button"), classes with a leading dot.
func (f field) matches(sel string) bool {
	if c, ok := strings.CutPrefix(sel, "."); ok {
		return f.Tag == "button" && strings.Contains(" "+f.Class+" ", " "+c+" ")
	}
	return f.ID == sel
}

func findForm(forms []form, sel string) *form {
	for i := range forms {
		for _, fl := range forms[i].Fields {
			if fl.matches(sel) {
				return &forms[i]
			}
		}
	}
	return nil
}

// submit returns the values a browser would send when the control sel is clicked,
// with the login fields filled in as email and any password.
func (f *form) submit(sel, email string) url.Values {
	v := url.Values{}
	clicked := false
	for _, fl := range f.Fields {
		if fl.Name == "" {
			continue
		}
		switch {
		case fl.Tag == "button" || fl.Type == "submit" || fl.Type == "image":
			if !clicked && fl.matches(sel) {
				v.Add(fl.Name, fl.Value)
				clicked = true
			}
		case fl.Type == "checkbox" || fl.Type == "radio":
			if fl.Checked {
				val := fl.Value
				if val == "" {
					val = "on"
				}
				v.Add(fl.Name, val)
			}
		case fl.Type == "password":
			v.Add(fl.Name, "benchmark-password")
		case fl.ID == "username" || fl.Name == "username" || fl.Name == "email" || fl.Type == "email":
			v.Add(fl.Name, email)
		default:
			v.Add(fl.Name, fl.Value)
		}
	}
	return v
}

func snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
