package smartcar_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"smartcargo/internal/smartcar"
)

// The examples run against the offline sandbox (internal/sandbox), which plays
// Smartcar in test mode; startSandbox and connectCode (sandbox_helpers_test.go)
// start it and walk Connect with form posts, as a user would in a browser.

func ExampleConfig_AuthCodeURL() {
	conf := &smartcar.Config{
		ClientID:    "my-client-id",
		RedirectURL: "http://localhost:8000/exchange",
		Scopes:      []string{"read_vehicle_info", "read_odometer"},
		Mode:        smartcar.ModeTest,
		Endpoint:    smartcar.DefaultEndpoint(),
	}
	fmt.Println(conf.AuthCodeURL("random-state", smartcar.ForcePrompt(), smartcar.Flags(map[string]string{"country": "DE"})))
	// Output:
	// https://connect.smartcar.com/oauth/authorize?approval_prompt=force&client_id=my-client-id&flags=country%3ADE&mode=test&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fexchange&response_type=code&scope=read_vehicle_info+read_odometer&state=random-state
}

func ExampleConfig_Exchange() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// The token calls use the *http.Client stored in the context, if any: give it
	// a timeout.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})

	// code is what Connect appends to the redirect URI.
	code, err := connectCode(ctx, conf, "someone@example.com", "CHEVROLET")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.RefreshToken != "", tok.ExpiresIn)

	// A code works once.
	_, err = conf.Exchange(ctx, code)
	var scErr *smartcar.Error
	if errors.As(err, &scErr) {
		fmt.Println("second exchange:", scErr.StatusCode)
	}
	// Output:
	// Bearer true 7200
	// second exchange: 400
}

func ExampleConfig_TokenSource() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	code, err := connectCode(ctx, conf, "someone@example.com", "TESLA")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		log.Fatal(err)
	}

	// Pretend the access token has expired, as it will after two hours.
	tok.Expiry = time.Now().Add(-time.Minute)
	ts := conf.TokenSource(ctx, tok, smartcar.OnRefresh(func(t *oauth2.Token) {
		// Save t (its refresh token in particular: Smartcar rotates it).
		fmt.Println("refreshed; new refresh token:", t.RefreshToken != tok.RefreshToken)
	}))
	user, err := conf.Client(ctx, ts).User(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("user id:", len(user.ID))
	// Output:
	// refreshed; new refresh token: true
	// user id: 36
}

func ExampleClient_VehicleIDs() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// The sandbox gives the test account <N>-vehicles@smartcar.com N vehicles.
	code, err := connectCode(ctx, conf, "75-vehicles@smartcar.com", "FORD")
	if err != nil {
		log.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	api := conf.Client(ctx, conf.TokenSource(ctx, tok))

	ids, err := api.VehicleIDs(ctx) // follows the pages
	if err != nil {
		log.Fatal(err)
	}
	attrs, err := api.Attributes(ctx, ids[0])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(ids), "vehicles; the first is a", attrs.Make)
	// Output:
	// 75 vehicles; the first is a FORD
}

func ExampleError() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	api := conf.Client(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "revoked-or-made-up"}))

	_, err = api.VehicleIDs(ctx)
	var scErr *smartcar.Error
	if errors.As(err, &scErr) {
		switch {
		case scErr.Type == smartcar.TypeAuthentication || scErr.Resolution == smartcar.ResolutionReauthenticate:
			fmt.Println(scErr.StatusCode, "send the user through Connect again")
		case scErr.Resolution == smartcar.ResolutionRetryLater:
			fmt.Println(scErr.StatusCode, "try again in", scErr.RetryAfter)
		default:
			fmt.Println(scErr.StatusCode, scErr.Description)
		}
	}
	// Output:
	// 401 send the user through Connect again
}

// exampleClient connects a vehicle of the sandbox and returns a client and its id.
func exampleClient(ctx context.Context, conf *smartcar.Config, email, brand string) (*smartcar.Client, string) {
	api, _, err := sandboxClient(ctx, conf, email, brand)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := api.VehicleIDs(ctx)
	if err != nil {
		log.Fatal(err)
	}
	return api, ids[0]
}

func ExampleClient_Odometer() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	api, vehicleID := exampleClient(ctx, conf, "someone@example.com", "CHEVROLET")

	odo, err := api.Odometer(ctx, vehicleID, smartcar.Units(smartcar.Imperial))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(odo.Distance > 0, odo.Meta.UnitSystem, !odo.Meta.DataAge.IsZero())
	// Output:
	// true imperial true
}

func ExampleClient_Batch() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// A gasoline vehicle: it has a fuel tank but no traction battery.
	api, vehicleID := exampleClient(ctx, conf, "0SCFUEL0000000002@fuel.smartcar.com", "FORD")

	resp, err := api.Batch(ctx, vehicleID, []string{smartcar.PathOdometer, smartcar.PathFuel, smartcar.PathBattery})
	if err != nil {
		log.Fatal(err)
	}
	if fuel, err := resp.Fuel(); err == nil {
		fmt.Println("fuel within 0..1:", fuel.PercentRemaining >= 0 && fuel.PercentRemaining <= 1)
	}
	var scErr *smartcar.Error
	if _, err := resp.Battery(); errors.As(err, &scErr) {
		fmt.Println("battery:", scErr.StatusCode, scErr.Type)
	}
	// Output:
	// fuel within 0..1: true
	// battery: 501 COMPATIBILITY
}

func ExampleClient_Lock() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	api, vehicleID := exampleClient(ctx, conf, "someone@example.com", "TESLA")

	res, err := api.Lock(ctx, vehicleID)
	var scErr *smartcar.Error
	switch {
	case errors.As(err, &scErr) && scErr.Type == smartcar.TypeVehicleState:
		fmt.Println("the vehicle cannot lock now:", scErr.Code)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(res.Status)
	}
	// Output:
	// success
}

// exampleV3 connects a vehicle of the sandbox (with v3's origins pointed at it too)
// and returns a v3 client with the user's Connect token, the vehicle id and the
// user id Connect's redirect carried.
func exampleV3(ctx context.Context, conf *smartcar.Config, email, brand string) (*smartcar.V3Client, string, string) {
	code, userID, err := connectUser(ctx, conf, email, brand)
	if err != nil {
		log.Fatal(err)
	}
	tok, err := conf.Exchange(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	ts := conf.TokenSource(ctx, tok)
	ids, err := conf.Client(ctx, ts).VehicleIDs(ctx)
	if err != nil {
		log.Fatal(err)
	}
	return conf.V3Client(ctx, ts), ids[0], userID
}

func ExampleV3Client_AllSignals() {
	srv, conf, err := startV3Sandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// An electric vehicle, read with the user's Connect token.
	api, vehicleID, _ := exampleV3(ctx, conf, "0SCTESL0000000001@bev.smartcar.com", "TESLA")

	// Every signal in one round trip, each with its own status.
	signals, err := api.AllSignals(ctx, vehicleID)
	if err != nil {
		log.Fatal(err)
	}
	soc, err := signals.StateOfCharge()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("state of charge in", soc.Unit, soc.Value >= 0 && soc.Value <= 100)
	// An electric car has no fuel tank: that signal failed alone.
	var scErr *smartcar.Error
	if _, err := signals.FuelLevel(); errors.As(err, &scErr) {
		fmt.Println("fuel level:", scErr.Type, scErr.Code)
	}
	// Tiles of a dashboard look signals up by code.
	if s, ok := signals.Lookup(smartcar.SignalIsLocked); ok && s.Err == nil {
		_, isBool := s.Value.(bool)
		fmt.Println(s.Group, s.Name, isBool)
	}
	// Output:
	// state of charge in percent true
	// fuel level: COMPATIBILITY VEHICLE_NOT_CAPABLE
	// Closure IsLocked true
}

func ExampleV3Client_Signals() {
	srv, conf, err := startV3Sandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// A gasoline vehicle: its traction battery signals fail, the others are read.
	api, vehicleID, _ := exampleV3(ctx, conf, "0SCFUEL0000000002@fuel.smartcar.com", "FORD")

	// Page after page, five signals at a time.
	read, failed := 0, 0
	for s, err := range api.Signals(ctx, vehicleID, smartcar.PageSize(5)) {
		if err != nil {
			log.Fatal(err) // the request failed, not one signal
		}
		if s.Err != nil {
			failed++ // this vehicle cannot give that signal
			continue
		}
		read++
	}
	fmt.Println("read some:", read > 0, "failed some:", failed > 0)
	// Output:
	// read some: true failed some: true
}

func ExampleConfig_AppTokenSource() {
	srv, conf, err := startV3Sandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// Connect's redirect gives the user id next to the code; keep it.
	_, vehicleID, userID := exampleV3(ctx, conf, "someone@example.com", "TESLA")

	// One application token for every user's vehicles: cached for its hour and
	// renewed just before it ends, one request however many callers need it.
	app := conf.V3Client(ctx, conf.AppTokenSource(ctx))

	odo, err := app.Signal(ctx, vehicleID, smartcar.SignalOdometer, smartcar.UserID(userID))
	if err != nil {
		log.Fatal(err)
	}
	m, err := smartcar.SignalValue[smartcar.Measurement](odo)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(odo.Status, m.Unit, m.Value > 0)

	// Without the user id, the application token names nobody.
	_, err = app.Signal(ctx, vehicleID, smartcar.SignalOdometer)
	var scErr *smartcar.Error
	if errors.As(err, &scErr) {
		fmt.Println(scErr.StatusCode, scErr.Type)
	}
	// An application Smartcar has not enabled for v3 is told apart.
	fmt.Println(errors.Is(err, smartcar.ErrV3NotEnabled))
	// Output:
	// SUCCESS km true
	// 400 VALIDATION
	// false
}

func ExampleV3Client_Lock() {
	srv, conf, err := startV3Sandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	api, vehicleID, _ := exampleV3(ctx, conf, "someone@example.com", "TESLA")

	x, err := api.Lock(ctx, vehicleID)
	var scErr *smartcar.Error
	switch {
	case errors.As(err, &scErr) && scErr.Type == smartcar.TypeVehicleState:
		fmt.Println("the vehicle cannot lock now:", scErr.Code) // IN_MOTION while driving
	case err != nil:
		log.Fatal(err)
	case x.Running():
		// Smartcar answered 202: read the execution again later.
		x, err = api.CommandExecution(ctx, vehicleID, x.ID)
		fmt.Println(x.Status, err)
	default:
		fmt.Println(x.CommandType, x.Status, x.ExecutionMode)
	}
	// Output:
	// security-lock SUCCESS sync
}

func ExampleConfig_Compatibility() {
	srv, conf, err := startSandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// An application call: the client id and secret authorise it, on the
	// *http.Client stored in the context, if any.
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 10 * time.Second})

	// A 2017 Tesla Model X: can it give its battery and its fuel tank?
	c, err := conf.Compatibility(ctx, "5YJXCDE22HF068739", []string{"read_battery", "read_fuel"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("compatible:", c.Compatible)
	for _, capability := range c.Capabilities {
		if capability.Capable {
			fmt.Println(capability.Endpoint, "capable")
		} else {
			fmt.Println(capability.Endpoint, "not capable:", capability.Reason)
		}
	}
	// Output:
	// compatible: true
	// /battery capable
	// /battery/capacity capable
	// /battery/nominal_capacity capable
	// /fuel not capable: VEHICLE_NOT_CAPABLE
}

func ExampleManagement_Connections() {
	srv, conf, err := startV3Sandbox(nil)
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	// A user connects one vehicle; Connect's redirect names the user.
	_, vehicleID, userID := exampleV3(ctx, conf, "0SCTESL0000000001@bev.smartcar.com", "TESLA")

	// With Smartcar: smartcar.DefaultManagementOrigin and the application
	// management token of the Dashboard.
	mgmt := smartcar.NewManagement(&http.Client{Timeout: 10 * time.Second}, srv.URL, testManagementToken)
	for c, err := range mgmt.Connections(ctx, smartcar.ConnectionFilter{UserID: userID}, 0) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.VehicleID == vehicleID, c.Mode, !c.ConnectedAt.IsZero())
	}

	// Disconnect the vehicle: its tokens no longer reach it.
	gone, err := mgmt.DeleteConnections(ctx, smartcar.ConnectionFilter{VehicleID: vehicleID})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted:", len(gone), gone[0].UserID == userID)
	// Output:
	// true test true
	// deleted: 1 true
}
