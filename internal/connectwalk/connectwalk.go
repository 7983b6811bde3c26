// Package connectwalk goes through Smartcar Connect the way a person without JavaScript
// would: it submits the pages' HTML forms, recognising each step by the DOM ids real
// Connect uses (preamble, brand list, brand login, grant; smartcar-api.md §7.3), until
// Connect redirects back to the app.
//
// The tests, the load test and the benchmark use it against the sandbox, so that there
// is one walker to keep in step with the Connect pages. It reads the pages' forms with
// internal/htmlpage.
package connectwalk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"smartcargo/internal/htmlpage"
)

// Options say how the user answers Connect.
type Options struct {
	// Email is the login on the brand's page; it picks the sandbox's test vehicles.
	// Default "driver@example.com".
	Email string
	// Password is any password (the sandbox accepts all). Default "any password".
	Password string
	// Make is the brand button to press on the brand list (its id, e.g. "CHEVROLET");
	// empty presses the first brand.
	Make string
	// Deny presses Deny instead of Allow on the grant page.
	Deny bool
	// Share, when not nil, ticks only the vehicles at these positions (0-based, in
	// the grant page's order) before Allow, as a user sharing some of their cars;
	// nil keeps Connect's choice (every compatible vehicle). Connect skips the grant
	// page for an approval it remembers (approval_prompt=auto): then Walk fails
	// rather than share everything.
	Share []int
}

// maxSteps bounds a walk: Connect has four pages; anything longer is a loop.
const maxSteps = 20

// Walk opens authURL (Connect's /oauth/authorize URL, which names the app's
// redirect_uri) and submits Connect's forms until Connect redirects to the redirect URI.
// It returns that redirect, not followed: its query holds code and state, or error.
//
// hc's cookie jar and transport are used; Walk handles redirects itself.
func Walk(ctx context.Context, hc *http.Client, authURL string, o Options) (*url.URL, error) {
	au, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("connectwalk: %w", err)
	}
	back := au.Query().Get("redirect_uri")
	if back == "" || back == "undefined" {
		return nil, fmt.Errorf("connectwalk: the Connect URL names no redirect_uri")
	}
	if o.Email == "" {
		o.Email = "driver@example.com"
	}
	if o.Password == "" {
		o.Password = "any password"
	}
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	granted := false // the grant page was answered
	p, err := get(ctx, &c, authURL)
	for step := 0; step < maxSteps; step++ {
		if err != nil {
			return nil, err
		}
		if p.Status >= 300 && p.Status < 400 {
			loc, perr := p.URL.Parse(p.Header.Get("Location"))
			if perr != nil {
				return nil, fmt.Errorf("connectwalk: bad redirect from %s: %w", p.URL.Path, perr)
			}
			if strings.HasPrefix(loc.String(), back) {
				if o.Share != nil && !o.Deny && !granted && loc.Query().Get("code") != "" {
					return nil, errors.New("connectwalk: Connect skipped the grant page (it remembered an approval), so only some vehicles could not be shared: use approval_prompt=force")
				}
				return loc, nil
			}
			p, err = get(ctx, &c, loc.String())
			continue
		}
		if p.Status != http.StatusOK {
			return nil, fmt.Errorf("connectwalk: %s answered %d: %s", p.URL.Path, p.Status, htmlpage.Snippet(p.Body))
		}
		f, click, serr := nextStep(htmlpage.Parse(p.Body).Forms(), o)
		if serr != nil {
			return nil, fmt.Errorf("connectwalk: %s: %w: %s", p.URL.Path, serr, htmlpage.Snippet(p.Body))
		}
		if click == "approval-button" {
			granted = true
			if o.Share != nil {
				if f, serr = share(f, o.Share); serr != nil {
					return nil, fmt.Errorf("connectwalk: %s: %w", p.URL.Path, serr)
				}
			}
		}
		vals := f.Values(click)
		for _, fl := range f.Fields {
			switch {
			case fl.Type == "password":
				vals.Set(fl.Name, o.Password)
			case fl.ID == "username":
				vals.Set(fl.Name, o.Email)
			}
		}
		p, err = Submit(ctx, &c, p.URL, f, vals)
	}
	return nil, errors.New("connectwalk: too many steps without reaching the redirect URI")
}

// nextStep picks the form to submit and the control to press, the furthest step first.
func nextStep(forms []htmlpage.Form, o Options) (*htmlpage.Form, string, error) {
	approve := "approval-button"
	if o.Deny {
		approve = "deny-button"
	}
	for _, id := range []string{approve, "sign-in-button", "continue-button"} {
		if f := find(forms, func(fl htmlpage.Field) bool { return fl.ID == id }); f != nil {
			return f, id, nil
		}
	}
	isBrand := func(fl htmlpage.Field) bool {
		return fl.Tag == "button" && strings.Contains(" "+fl.Class+" ", " brand-list-item ") &&
			(o.Make == "" || fl.ID == o.Make)
	}
	if f := find(forms, isBrand); f != nil {
		for _, fl := range f.Fields {
			if isBrand(fl) {
				return f, fl.ID, nil
			}
		}
	}
	if o.Make != "" && find(forms, func(fl htmlpage.Field) bool { return strings.Contains(fl.Class, "brand-list-item") }) != nil {
		return nil, "", fmt.Errorf("no brand %s on the brand list", o.Make)
	}
	return nil, "", errors.New("no Connect step recognised")
}

// share returns a copy of the grant form with only the vehicles at the positions
// ticked.
func share(f *htmlpage.Form, positions []int) (*htmlpage.Form, error) {
	c := *f
	c.Fields = slices.Clone(f.Fields)
	var vehicles []*htmlpage.Field
	for i := range c.Fields {
		if fl := &c.Fields[i]; fl.Name == "vehicle" && (fl.Type == "checkbox" || fl.Type == "radio") {
			fl.Checked = false
			vehicles = append(vehicles, fl)
		}
	}
	for _, i := range positions {
		if i < 0 || i >= len(vehicles) {
			return nil, fmt.Errorf("no vehicle #%d on the grant page (it lists %d)", i, len(vehicles))
		}
		if vehicles[i].Disabled {
			return nil, fmt.Errorf("vehicle #%d on the grant page cannot be shared (not compatible)", i)
		}
		vehicles[i].Checked = true
	}
	return &c, nil
}

func find(forms []htmlpage.Form, match func(htmlpage.Field) bool) *htmlpage.Form {
	for i := range forms {
		for _, fl := range forms[i].Fields {
			if match(fl) {
				return &forms[i]
			}
		}
	}
	return nil
}

// Page is a fetched response with its body read.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   string
}

func get(ctx context.Context, hc *http.Client, target string) (*Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	return do(hc, req)
}

// Submit sends vals to the form's action, resolved against the page it is on, as a
// browser would: a POST form with an Origin header (so the app's cross-origin
// protection sees a same-origin post), a GET form as a query.
func Submit(ctx context.Context, hc *http.Client, page *url.URL, f *htmlpage.Form, vals url.Values) (*Page, error) {
	target, err := page.Parse(f.Action)
	if err != nil {
		return nil, err
	}
	var req *http.Request
	if f.Method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(vals.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", target.Scheme+"://"+target.Host)
		}
	} else {
		target.RawQuery = vals.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	return do(hc, req)
}

func do(hc *http.Client, req *http.Request) (*Page, error) {
	req.Header.Set("Accept", "text/html")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	return &Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, nil
}
