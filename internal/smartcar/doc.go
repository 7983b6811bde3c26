// Package smartcar is a small client for Smartcar's connected-car platform: Smartcar
// Connect (OAuth 2.0 authorization code flow, built on golang.org/x/oauth2), the
// REST API v2.0 (Client) and the vehicle API v3 (V3Client).
//
// A Config describes the application as registered with Smartcar. It builds the
// Connect URL, trades the authorization code for a token and returns a token source
// that refreshes the token when it is about to expire. A Client makes the typed API
// calls; every result carries the response metadata in a Meta field. Every failure
// Smartcar reports is an *Error, so callers use errors.As.
//
// The package never reads the environment and never logs. Network access goes
// through the *http.Client found in the context under oauth2.HTTPClient (token
// calls, the Compatibility API, and the base transport of Config.Client and
// Config.V3Client) or the one given to NewClient, NewV3Client or NewManagement.
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
//
// # Compatibility
//
// Config.Compatibility (by VIN) and Config.CompatibilityMatrix (by region, make,
// type and scope) ask Smartcar's Compatibility API on the application's behalf,
// authorised with ClientID and ClientSecret; no user is involved:
//
//	c, err := conf.Compatibility(ctx, vin, []string{"read_battery"}, smartcar.Country("DE"))
//	m, err := conf.CompatibilityMatrix(ctx, smartcar.RegionUS, smartcar.MatrixMakes("TESLA"))
//
// An incompatible vehicle is an answer (Compatible false, with its Reason); in test
// mode TestModeLevel decides it whatever the VIN.
//
// # Management
//
// Management calls the management APIs with the application management token: the
// v3 webhooks and their subscriptions (CreateWebhook, Subscribe, ...) and the v2.0
// connections, the vehicles users connected, a page at a time (ConnectionPage), as
// an iterator over every page (Connections) or deleted by vehicle or user
// (DeleteConnections, after which their tokens no longer reach them).
//
// # API v3
//
// A V3Client speaks the vehicle API v3 (Endpoint.V3Origin, paths under /v3): the
// vehicle, its signals and its commands. It is built like Client, from either of
// Smartcar's two ways of authorising v3 calls:
//
//	// The user's Connect token, as the official Node SDK sends it:
//	api := conf.V3Client(ctx, conf.TokenSource(ctx, tok))
//	v, err := api.Vehicle(ctx, vehicleID)
//
//	// Or the application's own token (client_credentials at Endpoint.IAMOrigin,
//	// one token for every user, cached and renewed before its hour ends), naming
//	// the user of each call with the user_id of Connect's redirect:
//	app := conf.V3Client(ctx, conf.AppTokenSource(ctx))
//	v, err := app.Vehicle(ctx, vehicleID, smartcar.UserID(userID))
//
// Config.V3Client wraps the token source in an *http.Client as Config.Client does
// (any oauth2.TokenSource works, and oauth2.NewClient(ctx, source) with
// NewV3Client too). The application token source makes one request for any number
// of concurrent callers and takes EarlyExpiry, WithClock and OnRefresh.
//
// Signals are read one by one (Signal, by code), a page at a time (SignalPage), as
// an iterator over every page (Signals, an iter.Seq2) or all at once into a
// SignalSet (AllSignals: one round trip when they fit on a page of PageSize,
// DefaultSignalPageSize by default). Each Signal carries its status: a signal the
// grant or the vehicle cannot give stays in the list with its own *Error in Err,
// while the list itself succeeds. Known codes (SignalOdometer, SignalLocation,
// SignalStateOfCharge, ...) are decoded into typed values; other codes keep their
// raw Body, which SignalValue decodes into any type:
//
//	set, err := api.AllSignals(ctx, vehicleID)
//	soc, err := set.StateOfCharge() // Measurement{Value: 81.5, Unit: "percent"}
//	s, ok := set.Lookup(smartcar.SignalIsLocked)
//	locked, err := smartcar.SignalValue[bool](s)
//
// Commands (Lock, Unlock, StartCharge, StopCharge, SetChargeLimit in percent)
// return the CommandExecution; a 202 answer (the command still running) is not an
// error, and CommandExecution reads it again later. Refusals are *Error as in v2.0,
// with Title and the v3 texts, decoded from the flat fields or the JSON:API
// {"errors": [...]} form. errors.Is(err, ErrV3NotEnabled) tells an application
// that Smartcar has not enabled for v3, which the Smartcar Dashboard fixes.
package smartcar
