// Package connectwalk goes through Smartcar Connect the way a person without JavaScript
// would: it submits the pages' HTML forms, recognising each step by the DOM ids real
// Connect uses (preamble, brand list, brand login, grant; smartcar-api.md §7.3), until
// Connect redirects back to the app.
//
// The tests, the load test and the benchmark use it against the sandbox, so that there
// is one walker to keep in step with the Connect pages. Its form reader (Forms) is a
// small scanner for plain server-rendered HTML, not a general HTML parser.
package connectwalk

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
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
				return loc, nil
			}
			p, err = get(ctx, &c, loc.String())
			continue
		}
		if p.Status != http.StatusOK {
			return nil, fmt.Errorf("connectwalk: %s answered %d: %s", p.URL.Path, p.Status, Snippet(p.Body))
		}
		f, click, serr := nextStep(Forms(p.Body), o)
		if serr != nil {
			return nil, fmt.Errorf("connectwalk: %s: %w: %s", p.URL.Path, serr, Snippet(p.Body))
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
func nextStep(forms []Form, o Options) (*Form, string, error) {
	approve := "approval-button"
	if o.Deny {
		approve = "deny-button"
	}
	for _, id := range []string{approve, "sign-in-button", "continue-button"} {
		if f := find(forms, func(fl Field) bool { return fl.ID == id }); f != nil {
			return f, id, nil
		}
	}
	isBrand := func(fl Field) bool {
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
	if o.Make != "" && find(forms, func(fl Field) bool { return strings.Contains(fl.Class, "brand-list-item") }) != nil {
		return nil, "", fmt.Errorf("no brand %s on the brand list", o.Make)
	}
	return nil, "", errors.New("no Connect step recognised")
}

func find(forms []Form, match func(Field) bool) *Form {
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
func Submit(ctx context.Context, hc *http.Client, page *url.URL, f *Form, vals url.Values) (*Page, error) {
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

// Form is an HTML form, as far as submitting it goes.
type Form struct {
	Action, Method string // Method is GET or POST
	Fields         []Field
}

// Field is one input, button, select or textarea of a form.
type Field struct {
	Tag                          string
	ID, Class, Name, Value, Type string
	Checked, Disabled            bool
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	fieldRE = regexp.MustCompile(`(?is)<(input|button|select|textarea)\b([^>]*)>`)
	optRE   = regexp.MustCompile(`(?is)<option\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

// Forms returns the forms of a page.
func Forms(body string) []Form {
	var forms []Form
	for _, m := range formRE.FindAllStringSubmatch(body, -1) {
		a := attrs(m[1])
		f := Form{Action: a["action"], Method: http.MethodGet}
		if strings.EqualFold(a["method"], http.MethodPost) {
			f.Method = http.MethodPost
		}
		inner := m[2]
		for _, fm := range fieldRE.FindAllStringSubmatchIndex(inner, -1) {
			tag := strings.ToLower(inner[fm[2]:fm[3]])
			fa := attrs(inner[fm[4]:fm[5]])
			_, checked := fa["checked"]
			_, disabled := fa["disabled"]
			fl := Field{Tag: tag, ID: fa["id"], Class: fa["class"], Name: fa["name"], Value: fa["value"],
				Type: strings.ToLower(fa["type"]), Checked: checked, Disabled: disabled}
			if tag == "select" {
				// The selected option, else the first.
				rest := inner[fm[1]:]
				if end := strings.Index(strings.ToLower(rest), "</select>"); end >= 0 {
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

// FormWithAction returns the first form of the page whose action starts with prefix.
func FormWithAction(body, prefix string) (*Form, bool) {
	for _, f := range Forms(body) {
		if strings.HasPrefix(f.Action, prefix) {
			return &f, true
		}
	}
	return nil, false
}

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

// Values returns what a browser sends when the button with id click is pressed ("" for
// none): every named field's value, checked boxes only, disabled fields left out.
func (f *Form) Values(click string) url.Values {
	v := url.Values{}
	for _, fl := range f.Fields {
		if fl.Name == "" || fl.Disabled {
			continue
		}
		switch {
		case fl.Tag == "button" || fl.Type == "submit" || fl.Type == "image":
			if click != "" && fl.ID == click {
				v.Add(fl.Name, fl.Value)
				click = "" // only the first matching button
			}
		case fl.Type == "checkbox" || fl.Type == "radio":
			if fl.Checked {
				val := fl.Value
				if val == "" {
					val = "on"
				}
				v.Add(fl.Name, val)
			}
		default:
			v.Add(fl.Name, fl.Value)
		}
	}
	return v
}

// Has reports whether the form has a control with that id.
func (f *Form) Has(id string) bool {
	for _, fl := range f.Fields {
		if fl.ID == id {
			return true
		}
	}
	return false
}

// Snippet is the start of a page's text, whitespace folded, for error messages.
func Snippet(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
