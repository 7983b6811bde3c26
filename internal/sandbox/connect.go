package sandbox

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// connectSession carries the authorize parameters through the Connect pages. The
// pages refer to it by an unguessable id in a hidden field or query parameter, so the
// flow needs neither cookies nor JavaScript.
type connectSession struct {
	ID      string
	Created time.Time

	ClientID        string
	RedirectURI     string // resolved: never empty, never "undefined"
	ResponseType    string // "code", "vehicle_id" or "none" (v3: user_id only)
	State           string
	HasState        bool
	Scope           requestedScope
	Mode            string
	MakeBypass      string // a valid make id, or ""
	SingleSelect    bool
	SingleSelectVIN string
	ApprovalForce   bool
	Flags           string
	User            string

	// Filled in by the brand login.
	Make     string
	Account  account
	Vehicles []*vehicle
	LoggedIn bool
}

// basePage is embedded in every Connect page's data.
type basePage struct {
	Title   string
	AppName string // who asks for access: the redirect URI's host
}

// preamblePage is step 1.
type preamblePage struct {
	basePage
	Session string
	Action  string // where "Continue" goes: the brand list, or the login when make is known
	Make    string
}

// brandsPage is step 2.
type brandsPage struct {
	basePage
	Session string
	Query   string
	Brands  []brand
}

// loginPage is step 3.
type loginPage struct {
	basePage
	Session  string
	Make     string
	Brand    string
	Username string
	Error    string
}

// grantPage is step 4.
type grantPage struct {
	basePage
	Session      string
	Brand        string
	Email        string
	Permissions  []string
	Vehicles     []grantVehicle
	SingleSelect bool
	Error        string
}

// grantVehicle is one row of the grant screen.
type grantVehicle struct {
	ID, Label, VIN string
	Checked        bool
	Incompatible   bool
}

// incompatiblePage explains that no vehicle can be connected and offers to share its
// details with the app (§7.3).
type incompatiblePage struct {
	basePage
	Session string
	Vehicle string // "2019 Audi e-tron"
	VIN     string
}

// batteryCapacityPage lets a user pick their battery's capacity (the URL that
// /battery/nominal_capacity returns).
type batteryCapacityPage struct {
	basePage
	Capacity string
}

// errorPage is the sandbox's HTML error page.
type errorPage struct {
	basePage
	Status  int
	Message string
}

// connect adapts a Connect handler that returns an error.
func (s *server) connect(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.connectFail(w, r, err)
		}
	}
}

// connectForm reads a Connect form: too large is 413, malformed 400, never a
// truncated or empty form acted upon.
func (s *server) connectForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	err := readForm(w, r, limit)
	switch {
	case err == nil:
		return nil
	case tooLarge(err):
		return &connectError{Status: http.StatusRequestEntityTooLarge, Title: "Form too large",
			Message: "This form sent more than the sandbox accepts. Start again from your application."}
	default:
		return &connectError{Status: http.StatusBadRequest, Title: "Form not readable",
			Message: "This form could not be read. Start again from your application."}
	}
}

// connectFail is the one place that shows a Connect failure to a person: a
// *connectError with its own status and words, anything else as a logged 500.
func (s *server) connectFail(w http.ResponseWriter, r *http.Request, err error) {
	var ce *connectError
	if !errors.As(err, &ce) {
		s.log.Error("connect: internal error", "path", r.URL.Path, "request_id", requestID(r.Context()), "err", err)
		ce = &connectError{Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "The Smartcar sandbox could not show this page. Please start again from your application."}
	} else {
		s.log.Info("connect: refused", "path", r.URL.Path, "status", ce.Status, "reason", ce.Title, "request_id", requestID(r.Context()))
	}
	w.Header().Set("Cache-Control", "no-store")
	data := errorPage{basePage: basePage{Title: ce.Title}, Status: ce.Status, Message: ce.Message}
	if rerr := s.pages.Render(w, ce.Status, "error", data); rerr != nil {
		s.log.Error("connect: render error page", "err", rerr)
	}
}

// render writes a Connect page, logging a template failure (the renderer has already
// written its fallback page).
func (s *server) render(w http.ResponseWriter, status int, name string, data any) error {
	w.Header().Set("Cache-Control", "no-store")
	if err := s.pages.Render(w, status, name, data); err != nil {
		s.log.Error("connect: render", "page", name, "err", err)
	}
	return nil
}

// handleAuthorize is GET /oauth/authorize: it checks the app and redirect URI (errors
// stay on the sandbox, never a redirect) and opens a Connect session.
func (s *server) handleAuthorize(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	clientID := q.Get("client_id")
	if clientID == "" {
		clientID = q.Get("application_id") // newest browser SDK
	}
	client, ok := s.clients[clientID]
	if !ok {
		return &connectError{Status: http.StatusBadRequest, Title: "Unknown application",
			Message: "The client_id in this link is not registered with the Smartcar sandbox. Check the client id your application uses."}
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" || redirect == "undefined" { // Node sends "undefined" when unset
		redirect = client.RedirectURIs[0]
	} else if !slices.Contains(client.RedirectURIs, redirect) {
		return &connectError{Status: http.StatusBadRequest, Title: "Invalid redirect URI",
			Message: "The redirect_uri " + redirect + " is not registered for this application. Register it with the sandbox (--client ID:SECRET:URI) or fix the application's redirect URI."}
	}
	rt := q.Get("response_type")
	if rt == "" {
		rt = "code"
	}
	if rt != "code" && rt != "vehicle_id" && rt != "none" {
		return &connectError{Status: http.StatusBadRequest, Title: "Unsupported response type",
			Message: "response_type must be \"code\" (or \"vehicle_id\" for re-authentication, \"none\" for API v3 apps that need only the user_id)."}
	}
	cs := &connectSession{
		ID:              newID(),
		Created:         s.now(),
		ClientID:        client.ID,
		RedirectURI:     redirect,
		ResponseType:    rt,
		Scope:           parseScope(q.Get("scope")),
		Mode:            q.Get("mode"),
		SingleSelect:    q.Get("single_select") == "true",
		SingleSelectVIN: strings.ToUpper(strings.TrimSpace(q.Get("single_select_vin"))),
		ApprovalForce:   q.Get("approval_prompt") == "force",
		Flags:           q.Get("flags"),
		User:            q.Get("user"),
	}
	cs.State, cs.HasState = q.Get("state"), q.Has("state")
	if cs.SingleSelectVIN != "" {
		cs.SingleSelect = true
	}
	if b, ok := findBrand(q.Get("make")); ok {
		cs.MakeBypass = b.Make
	} else if b, ok := brandOfVIN(cs.SingleSelectVIN); ok {
		// single_select_vin goes preamble → login → grant: the brand comes from the VIN.
		cs.MakeBypass = b.Make
	}
	switch cs.Mode {
	case "", modeTest, modeSimulated:
		// Test mode answers random data; simulated gives the vehicles a simulation
		// with state (simulated.go). A missing mode is taken as test mode rather than
		// refused.
	case "live":
		return s.redirectError(w, r, cs, "configuration_error",
			"The Smartcar sandbox only emulates test mode.", map[string]string{
				"status_code":   "400",
				"error_message": "This application tried to connect in live mode, but the Smartcar sandbox only supports test mode. Use mode=test.",
			})
	default:
		return &connectError{Status: http.StatusBadRequest, Title: "Invalid mode",
			Message: "mode must be one of test, simulated or live."}
	}
	s.store.putSession(cs, s.now())
	action := "/connect/brands"
	if cs.MakeBypass != "" {
		action = "/connect/login"
	}
	return s.render(w, http.StatusOK, "preamble", preamblePage{
		basePage: s.base(cs, "Connect your vehicle"),
		Session:  cs.ID,
		Action:   action,
		Make:     cs.MakeBypass,
	})
}

// base builds the common page data for a session.
func (s *server) base(cs *connectSession, title string) basePage {
	app := "This application"
	if name := s.clients[cs.ClientID].Name; name != "" {
		app = name
	} else if u, err := url.Parse(cs.RedirectURI); err == nil && u.Host != "" {
		app = u.Host
	}
	return basePage{Title: title, AppName: app}
}

// loadSession returns the session named by the request's "session" parameter.
func (s *server) loadSession(r *http.Request) (connectSession, error) {
	id := r.FormValue("session")
	cs, ok := s.store.session(id, s.now())
	if !ok {
		return connectSession{}, &connectError{Status: http.StatusBadRequest, Title: "Session expired",
			Message: "This Connect session is unknown or has expired. Please start again from your application."}
	}
	return cs, nil
}

// handleBrands is GET /connect/brands: the brand selector, filtered by ?q=.
func (s *server) handleBrands(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.loadSession(r)
	if err != nil {
		return err
	}
	query := strings.TrimSpace(r.FormValue("q"))
	var list []brand
	for _, b := range brands {
		if query == "" || containsFold(b.Name, query) || containsFold(b.Make, query) {
			list = append(list, b)
		}
	}
	return s.render(w, http.StatusOK, "brands", brandsPage{
		basePage: s.base(&cs, "Select your vehicle's brand"),
		Session:  cs.ID,
		Query:    query,
		Brands:   list,
	})
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// handleLoginPage is GET /connect/login: the mock brand login.
func (s *server) handleLoginPage(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.loadSession(r)
	if err != nil {
		return err
	}
	b, ok := findBrand(r.FormValue("make"))
	if !ok {
		return &connectError{Status: http.StatusBadRequest, Title: "Unknown brand",
			Message: "Pick your vehicle's brand from the list."}
	}
	return s.render(w, http.StatusOK, "login", loginPage{
		basePage: s.base(&cs, "Sign in to "+b.Name),
		Session:  cs.ID,
		Make:     b.Make,
		Brand:    b.Name,
	})
}

// handleLogin is POST /connect/login: any password is accepted; the email decides the
// vehicles (§7.2).
func (s *server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if err := s.connectForm(w, r, maxLoginBody); err != nil {
		return err
	}
	cs, err := s.loadSession(r)
	if err != nil {
		return err
	}
	b, ok := findBrand(r.PostFormValue("make"))
	if !ok {
		return &connectError{Status: http.StatusBadRequest, Title: "Unknown brand",
			Message: "Pick your vehicle's brand from the list."}
	}
	email := r.PostFormValue("username")
	acct, err := parseEmail(email)
	if err == nil && r.PostFormValue("password") == "" {
		err = errors.New("enter a password (any password works in test mode)")
	}
	if err != nil {
		return s.render(w, http.StatusBadRequest, "login", loginPage{
			basePage: s.base(&cs, "Sign in to "+b.Name),
			Session:  cs.ID, Make: b.Make, Brand: b.Name, Username: email,
			Error: upperFirst(err.Error()) + ".",
		})
	}
	if acct.Kind == accountSpecial && acct.Scenario == scenarioInvalidSubscription {
		s.store.endSession(cs.ID)
		return s.redirectError(w, r, &cs, "invalid_subscription",
			"The user's vehicle does not have an active connected services subscription.", nil)
	}
	vehicles := acct.vehicles(b)
	if cs.SingleSelectVIN != "" {
		var match []*vehicle
		for _, v := range vehicles {
			if v.VIN == cs.SingleSelectVIN {
				match = append(match, v)
			}
		}
		if len(match) == 0 {
			s.store.endSession(cs.ID)
			return s.redirectError(w, r, &cs, "configuration_error", "The requested vehicle is not in the user's account.", map[string]string{
				"status_code":   "400",
				"error_message": "No vehicle with VIN " + cs.SingleSelectVIN + " was found in this account. In test mode, log in with <VIN>@<level>.smartcar.com to authorize a given VIN.",
			})
		}
		vehicles = match
	}
	if !s.store.updateSession(cs.ID, s.now(), func(c *connectSession) {
		c.Make, c.Account, c.Vehicles, c.LoggedIn = b.Make, acct, vehicles, true
	}) {
		return &connectError{Status: http.StatusBadRequest, Title: "Session expired",
			Message: "This Connect session has expired. Please start again from your application."}
	}
	cs.Make, cs.Account, cs.Vehicles, cs.LoggedIn = b.Make, acct, vehicles, true
	// approval_prompt=auto: a user who already approved this scope for this app is not
	// asked again (unless the app wants to pick a single vehicle).
	if !cs.ApprovalForce && !cs.SingleSelect && s.store.approved(approvalKey(&cs)) {
		if chosen := compatibleVehicles(&cs); len(chosen) > 0 {
			return s.approve(w, r, &cs, chosen)
		}
	}
	http.Redirect(w, r, "/grant?session="+url.QueryEscape(cs.ID), http.StatusSeeOther)
	return nil
}

// approvalKey identifies an approval for approval_prompt=auto.
func approvalKey(cs *connectSession) string {
	scope := append([]string(nil), cs.Scope.All...)
	slices.Sort(scope)
	return cs.ClientID + "\x00" + cs.Account.userID() + "\x00" + strings.Join(scope, " ")
}

// compatibleVehicles are the session's vehicles that meet the required permissions.
func compatibleVehicles(cs *connectSession) []*vehicle {
	var out []*vehicle
	for _, v := range cs.Vehicles {
		if v.meets(cs.Scope.Required) {
			out = append(out, v)
		}
	}
	return out
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// handleGrantPage is GET /grant: the permissions and the vehicles to share.
func (s *server) handleGrantPage(w http.ResponseWriter, r *http.Request) error {
	cs, err := s.loggedInSession(r)
	if err != nil {
		return err
	}
	if len(compatibleVehicles(&cs)) == 0 {
		v := cs.Vehicles[0]
		b, _ := findBrand(v.Make)
		return s.render(w, http.StatusOK, "incompatible", incompatiblePage{
			basePage: s.base(&cs, "Vehicle not compatible"),
			Session:  cs.ID,
			Vehicle:  itoa(v.Year) + " " + b.Name + " " + v.Model,
			VIN:      v.VIN,
		})
	}
	return s.render(w, http.StatusOK, "grant", s.grantData(&cs, nil, ""))
}

// loggedInSession is loadSession for the pages after the brand login.
func (s *server) loggedInSession(r *http.Request) (connectSession, error) {
	cs, err := s.loadSession(r)
	if err != nil {
		return cs, err
	}
	if !cs.LoggedIn {
		return cs, &connectError{Status: http.StatusBadRequest, Title: "Not signed in",
			Message: "Sign in to your vehicle's account before granting access. Please start again from your application."}
	}
	return cs, nil
}

// grantData builds the grant screen; selected (nil = all) says which boxes are ticked.
func (s *server) grantData(cs *connectSession, selected map[string]bool, msg string) grantPage {
	b, _ := findBrand(cs.Make)
	p := grantPage{
		basePage:     s.base(cs, "Grant access"),
		Session:      cs.ID,
		Brand:        b.Name,
		Email:        cs.Account.Email,
		SingleSelect: cs.SingleSelect,
		Error:        msg,
	}
	for _, name := range cs.Scope.All {
		p.Permissions = append(p.Permissions, permissionWords(name))
	}
	first := true
	for _, v := range cs.Vehicles {
		ok := v.meets(cs.Scope.Required)
		checked := ok && (selected == nil || selected[v.ID])
		if cs.SingleSelect && selected == nil {
			checked = ok && first
		}
		if ok {
			first = false
		}
		p.Vehicles = append(p.Vehicles, grantVehicle{
			ID:           v.ID,
			Label:        itoa(v.Year) + " " + b.Name + " " + v.Model,
			VIN:          v.VIN,
			Checked:      checked,
			Incompatible: !ok,
		})
	}
	return p
}

// handleGrant is POST /grant: approve issues a code, deny reports access_denied; both
// redirect to the app and end the session.
func (s *server) handleGrant(w http.ResponseWriter, r *http.Request) error {
	if err := s.connectForm(w, r, maxGrantBody); err != nil {
		return err
	}
	cs, err := s.loggedInSession(r)
	if err != nil {
		return err
	}
	switch r.PostFormValue("action") {
	case "deny":
		s.store.endSession(cs.ID)
		return s.redirectError(w, r, &cs, "access_denied", "User denied access to application.", nil)
	case "incompatible":
		// The incompatible page: "share and return" adds the vehicle's details.
		s.store.endSession(cs.ID)
		extra := map[string]string{}
		if r.PostFormValue("share") == "yes" && len(cs.Vehicles) > 0 {
			v := cs.Vehicles[0]
			extra = map[string]string{"vin": v.VIN, "make": v.Make, "model": v.Model, "year": itoa(v.Year)}
		}
		return s.redirectError(w, r, &cs, "vehicle_incompatible", "The user’s vehicle is not compatible.", extra)
	case "approve":
	default:
		return &connectError{Status: http.StatusBadRequest, Title: "Choose allow or deny",
			Message: "Use the Allow or Deny button on the grant page."}
	}
	picked := map[string]bool{}
	for _, id := range r.PostForm["vehicle"] {
		picked[id] = true
	}
	var chosen []*vehicle
	for _, v := range compatibleVehicles(&cs) {
		if picked[v.ID] {
			chosen = append(chosen, v)
			if cs.SingleSelect {
				break
			}
		}
	}
	if len(chosen) == 0 {
		return s.render(w, http.StatusBadRequest, "grant", s.grantData(&cs, picked, "Select at least one vehicle to share."))
	}
	s.store.approve(approvalKey(&cs))
	return s.approve(w, r, &cs, chosen)
}

// approve ends the session with a code (or vehicle_id for re-authentication) for the
// chosen vehicles.
func (s *server) approve(w http.ResponseWriter, r *http.Request, cs *connectSession, chosen []*vehicle) error {
	g := &grant{
		ClientID: cs.ClientID,
		UserID:   cs.Account.userID(),
		Email:    cs.Account.Email,
		Scopes:   append([]string(nil), cs.Scope.All...),
		Vehicles: chosen,
		Mode:     cs.Mode,
		Created:  s.now(),
	}
	if g.Mode != modeSimulated {
		g.Mode = modeTest
	}
	s.store.endSession(cs.ID)
	s.store.recordGrant(g)
	if g.Mode == modeSimulated {
		s.simulate(chosen)
	}
	params := map[string]string{}
	switch cs.ResponseType {
	case "vehicle_id":
		params["vehicle_id"] = chosen[0].ID
	case "none": // API v3: the app calls with its application token and sc-user-id
		params["user_id"] = g.UserID
	default: // user_id for the v3 model's sc-user-id, next to the code
		params["code"] = s.store.issueCode(g, cs.RedirectURI, s.now())
		params["user_id"] = g.UserID
	}
	s.log.Info("connect: approved", "client_id", cs.ClientID, "vehicles", len(chosen), "request_id", requestID(r.Context()))
	return s.redirect(w, r, cs, params)
}

// redirectError sends the user back to the app with an OAuth-style error.
func (s *server) redirectError(w http.ResponseWriter, r *http.Request, cs *connectSession, code, desc string, extra map[string]string) error {
	params := map[string]string{"error": code, "error_description": desc}
	for k, v := range extra {
		params[k] = v
	}
	return s.redirect(w, r, cs, params)
}

// redirect answers 302 to the session's redirect URI with params and the state (when
// the app sent one), keeping any query the registered URI already has.
func (s *server) redirect(w http.ResponseWriter, r *http.Request, cs *connectSession, params map[string]string) error {
	u, err := url.Parse(cs.RedirectURI)
	if err != nil {
		return &connectError{Status: http.StatusBadRequest, Title: "Invalid redirect URI",
			Message: "The application's redirect URI cannot be parsed."}
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	if cs.HasState {
		q.Set("state", cs.State)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
	return nil
}

// handleBatteryCapacityPage is GET /battery-capacity, the page the nominal_capacity
// URL points at. The sandbox shows the capacity it reports; choosing one is not
// emulated.
func (s *server) handleBatteryCapacityPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, http.StatusOK, "battery-capacity", batteryCapacityPage{
		basePage: basePage{Title: "Battery capacity", AppName: "This application"},
	})
}
