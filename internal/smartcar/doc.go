// Package smartcar is a small client for Smartcar's connected-car platform: Smartcar
// Connect (OAuth 2.0 authorization code flow, built on golang.org/x/oauth2) and the
// REST API v2.0.
//
// A Config describes the application as registered with Smartcar. It builds the
// Connect URL, trades the authorization code for a token and returns a token source
// that refreshes the token when it is about to expire. A Client makes the typed API
// calls; every result carries the response metadata in a Meta field. Every failure
// Smartcar reports is an *Error, so callers use errors.As.
//
// The package never reads the environment and never logs. Network access goes
// through the *http.Client found in the context under oauth2.HTTPClient (token
// calls, and the base transport of Config.Client) or the one given to NewClient.
//
// Typical use in a web handler:
//
//	conf := &smartcar.Config{
//		ClientID:     "...",
//		ClientSecret: "...",
//		RedirectURL:  "http://localhost:8000/exchange",
//		Scopes:       []string{"read_vehicle_info", "read_odometer"},
//		Mode:         smartcar.ModeTest,
//		Endpoint:     smartcar.DefaultEndpoint(),
//	}
//	// Send the user to Connect.
//	http.Redirect(w, r, conf.AuthCodeURL(state), http.StatusFound)
//
//	// Later, on the redirect URI:
//	tok, err := conf.Exchange(ctx, r.URL.Query().Get("code"))
//	ts := conf.TokenSource(ctx, tok, smartcar.OnRefresh(saveToken))
//	api := conf.Client(ctx, ts)
//	ids, err := api.VehicleIDs(ctx)
//	odo, err := api.Odometer(ctx, ids[0], smartcar.Units(smartcar.Imperial))
//	var scErr *smartcar.Error
//	if errors.As(err, &scErr) && scErr.Type == smartcar.TypeVehicleState {
//		// Ask the user to try again later.
//	}
package smartcar
