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
//
// # Tokens
//
// Smartcar access tokens last two hours and each refresh returns a new refresh
// token (the old one dies a minute later). The source from Config.TokenSource
// refreshes a few seconds before expiry, makes one refresh for any number of
// concurrent callers, and reports each new token to the OnRefresh callback so that
// it can be saved.
//
// # Errors
//
// A refusal by Smartcar, whether from the API, the token endpoint or one item of a
// batch, is an *Error carrying the HTTP status, the error type and code, the
// resolution and retry-after. Its text never contains tokens or authorization
// codes. A request that takes too long, cut by the *http.Client's Timeout or the
// context's deadline, returns an error wrapping ErrTimeout. A 429 with a short
// retry-after (Client.MaxRetryAfter) is retried once before it is returned.
//
// # Batch
//
// Client.Batch reads several endpoints of one vehicle in one request; the
// BatchResponse hands each one out as its typed result or its own *Error:
//
//	resp, err := api.Batch(ctx, id, []string{smartcar.PathOdometer, smartcar.PathFuel})
//	odo, err := resp.Odometer()
//	fuel, err := resp.Fuel() // a COMPATIBILITY *Error for an electric vehicle
package smartcar
