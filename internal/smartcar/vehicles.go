package smartcar

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Vehicle sub-paths, as used by Batch and BatchResponse.Result. Each names the
// endpoint GET /v2.0/vehicles/{id}{path}.
const (
	PathAttributes             = "/"
	PathVIN                    = "/vin"
	PathOdometer               = "/odometer"
	PathLocation               = "/location"
	PathFuel                   = "/fuel"
	PathBattery                = "/battery"
	PathBatteryCapacity        = "/battery/capacity"
	PathNominalCapacity        = "/battery/nominal_capacity"
	PathCharge                 = "/charge"
	PathChargeLimit            = "/charge/limit"
	PathEngineOil              = "/engine/oil"
	PathTirePressure           = "/tires/pressure"
	PathLockStatus             = "/security"
	PathServiceHistory         = "/service/history"
	PathDiagnosticSystemStatus = "/diagnostics/system_status"
	PathDiagnosticTroubleCodes = "/diagnostics/dtcs"
	PathPermissions            = "/permissions"
)

// result is implemented by every typed result: it receives the response's Meta.
type result interface{ setMeta(Meta) }

func (a *Attributes) setMeta(m Meta) { a.Meta = m }

// getVehicle reads GET /v2.0/vehicles/{id}{sub} into a new T.
func getVehicle[T any, P interface {
	*T
	result
}](ctx context.Context, c *Client, vehicleID, sub string, query url.Values, opts []RequestOption) (*T, error) {
	p, err := vehiclePath(vehicleID, sub)
	if err != nil {
		return nil, err
	}
	var v T
	meta, err := c.do(ctx, call{method: http.MethodGet, path: p, query: query, opts: opts}, &v)
	if err != nil {
		return nil, err
	}
	P(&v).setMeta(meta)
	return &v, nil
}

// VIN is a vehicle's identification number.
type VIN struct {
	VIN  string `json:"vin"` // 17 characters
	Meta Meta   `json:"-"`   // metadata of the response
}

func (v *VIN) setMeta(m Meta) { v.Meta = m }

// VIN returns the vehicle's VIN: GET .../vin (permission read_vin).
func (c *Client) VIN(ctx context.Context, vehicleID string, opts ...RequestOption) (*VIN, error) {
	return getVehicle[VIN](ctx, c, vehicleID, PathVIN, nil, opts)
}

// Odometer is the vehicle's odometer reading.
type Odometer struct {
	// Distance is in km (metric) or miles (imperial).
	Distance float64 `json:"distance"`
	Meta     Meta    `json:"-"` // metadata of the response
}

func (v *Odometer) setMeta(m Meta) { v.Meta = m }

// Odometer returns the last known odometer reading: GET .../odometer (permission
// read_odometer).
func (c *Client) Odometer(ctx context.Context, vehicleID string, opts ...RequestOption) (*Odometer, error) {
	return getVehicle[Odometer](ctx, c, vehicleID, PathOdometer, nil, opts)
}

// Location is the vehicle's last known position, in degrees.
type Location struct {
	Latitude  float64 `json:"latitude"`  // degrees north
	Longitude float64 `json:"longitude"` // degrees east
	Meta      Meta    `json:"-"`         // metadata of the response
}

func (v *Location) setMeta(m Meta) { v.Meta = m }

// Location returns the last known location: GET .../location (permission
// read_location).
func (c *Client) Location(ctx context.Context, vehicleID string, opts ...RequestOption) (*Location, error) {
	return getVehicle[Location](ctx, c, vehicleID, PathLocation, nil, opts)
}

// Fuel is the state of the fuel tank.
type Fuel struct {
	// Range is the estimated range in km or miles.
	Range float64 `json:"range"`
	// PercentRemaining is a fraction between 0 and 1.
	PercentRemaining float64 `json:"percentRemaining"`
	// AmountRemaining is in litres or US gallons.
	AmountRemaining float64 `json:"amountRemaining"`
	Meta            Meta    `json:"-"` // metadata of the response
}

func (v *Fuel) setMeta(m Meta) { v.Meta = m }

// Fuel returns the fuel tank's state: GET .../fuel (permission read_fuel).
func (c *Client) Fuel(ctx context.Context, vehicleID string, opts ...RequestOption) (*Fuel, error) {
	return getVehicle[Fuel](ctx, c, vehicleID, PathFuel, nil, opts)
}

// Battery is the state of an electric vehicle's high-voltage battery.
type Battery struct {
	// Range is the estimated range in km or miles.
	Range float64 `json:"range"`
	// PercentRemaining is the state of charge, a fraction between 0 and 1.
	PercentRemaining float64 `json:"percentRemaining"`
	Meta             Meta    `json:"-"` // metadata of the response
}

func (v *Battery) setMeta(m Meta) { v.Meta = m }

// Battery returns the battery's state of charge and range: GET .../battery
// (permission read_battery).
func (c *Client) Battery(ctx context.Context, vehicleID string, opts ...RequestOption) (*Battery, error) {
	return getVehicle[Battery](ctx, c, vehicleID, PathBattery, nil, opts)
}

// BatteryCapacity is the battery's total capacity.
type BatteryCapacity struct {
	// Capacity is in kWh.
	Capacity float64 `json:"capacity"`
	Meta     Meta    `json:"-"` // metadata of the response
}

func (v *BatteryCapacity) setMeta(m Meta) { v.Meta = m }

// BatteryCapacity returns the battery's capacity: GET .../battery/capacity
// (permission read_battery).
func (c *Client) BatteryCapacity(ctx context.Context, vehicleID string, opts ...RequestOption) (*BatteryCapacity, error) {
	return getVehicle[BatteryCapacity](ctx, c, vehicleID, PathBatteryCapacity, nil, opts)
}

// NominalCapacity lists the rated capacities the vehicle's model comes with.
type NominalCapacity struct {
	// AvailableCapacities are the rated capacities of the model's variants.
	AvailableCapacities []CapacityOption `json:"availableCapacities"`
	// Capacity is the capacity known for this vehicle, nil when unknown.
	Capacity *NominalCapacityValue `json:"capacity"`
	// URL is a Connect page where the user can pick their vehicle's capacity.
	URL  string `json:"url"`
	Meta Meta   `json:"-"` // metadata of the response
}

func (v *NominalCapacity) setMeta(m Meta) { v.Meta = m }

// CapacityOption is one rated battery capacity.
type CapacityOption struct {
	// Capacity is in kWh.
	Capacity float64 `json:"capacity"`
	// Description names the variant; often empty.
	Description string `json:"description"`
}

// NominalCapacityValue is the rated capacity chosen for a vehicle.
type NominalCapacityValue struct {
	// Nominal is in kWh.
	Nominal float64 `json:"nominal"`
	// Source says where it came from, such as "USER_SELECTED".
	Source string `json:"source"`
}

// UnmarshalJSON accepts {"nominal", "source"} or a bare number (the shape of this
// field is not pinned down in Smartcar's public material).
func (v *NominalCapacityValue) UnmarshalJSON(b []byte) error {
	var n float64
	if json.Unmarshal(b, &n) == nil {
		*v = NominalCapacityValue{Nominal: n}
		return nil
	}
	type plain NominalCapacityValue
	return json.Unmarshal(b, (*plain)(v))
}

// NominalCapacity returns the battery's rated capacities: GET
// .../battery/nominal_capacity (permission read_battery).
func (c *Client) NominalCapacity(ctx context.Context, vehicleID string, opts ...RequestOption) (*NominalCapacity, error) {
	return getVehicle[NominalCapacity](ctx, c, vehicleID, PathNominalCapacity, nil, opts)
}

// ChargeState is the charging state of an electric vehicle.
type ChargeState string

// Charging states.
const (
	Charging     ChargeState = "CHARGING"
	FullyCharged ChargeState = "FULLY_CHARGED"
	NotCharging  ChargeState = "NOT_CHARGING"
)

// Charge is an electric vehicle's charging status.
type Charge struct {
	IsPluggedIn bool        `json:"isPluggedIn"` // a charging cable is connected
	State       ChargeState `json:"state"`       // Charging, FullyCharged or NotCharging
	Meta        Meta        `json:"-"`           // metadata of the response
}

func (v *Charge) setMeta(m Meta) { v.Meta = m }

// Charge returns the charging status: GET .../charge (permission read_charge).
func (c *Client) Charge(ctx context.Context, vehicleID string, opts ...RequestOption) (*Charge, error) {
	return getVehicle[Charge](ctx, c, vehicleID, PathCharge, nil, opts)
}

// ChargeLimit is the state of charge at which charging stops.
type ChargeLimit struct {
	// Limit is a fraction between 0 and 1.
	Limit float64 `json:"limit"`
	Meta  Meta    `json:"-"` // metadata of the response
}

func (v *ChargeLimit) setMeta(m Meta) { v.Meta = m }

// ChargeLimit returns the charge limit: GET .../charge/limit (permission
// read_charge).
func (c *Client) ChargeLimit(ctx context.Context, vehicleID string, opts ...RequestOption) (*ChargeLimit, error) {
	return getVehicle[ChargeLimit](ctx, c, vehicleID, PathChargeLimit, nil, opts)
}

// EngineOil is the remaining life of the engine oil.
type EngineOil struct {
	// LifeRemaining is a fraction between 0 and 1.
	LifeRemaining float64 `json:"lifeRemaining"`
	Meta          Meta    `json:"-"` // metadata of the response
}

func (v *EngineOil) setMeta(m Meta) { v.Meta = m }

// EngineOil returns the remaining oil life: GET .../engine/oil (permission
// read_engine_oil).
func (c *Client) EngineOil(ctx context.Context, vehicleID string, opts ...RequestOption) (*EngineOil, error) {
	return getVehicle[EngineOil](ctx, c, vehicleID, PathEngineOil, nil, opts)
}

// TirePressure is the air pressure of each tire, in kPa (metric) or psi (imperial).
type TirePressure struct {
	FrontLeft  float64 `json:"frontLeft"`  // front left tire
	FrontRight float64 `json:"frontRight"` // front right tire
	BackLeft   float64 `json:"backLeft"`   // back left tire
	BackRight  float64 `json:"backRight"`  // back right tire
	Meta       Meta    `json:"-"`          // metadata of the response
}

func (v *TirePressure) setMeta(m Meta) { v.Meta = m }

// TirePressure returns the tire pressures: GET .../tires/pressure (permission
// read_tires).
func (c *Client) TirePressure(ctx context.Context, vehicleID string, opts ...RequestOption) (*TirePressure, error) {
	return getVehicle[TirePressure](ctx, c, vehicleID, PathTirePressure, nil, opts)
}

// LockStatus is whether the vehicle is locked and which openings are open. A list
// is empty when the vehicle does not report that kind of opening.
type LockStatus struct {
	IsLocked bool `json:"isLocked"` // the doors are locked
	// Doors have types frontLeft, frontRight, backLeft, backRight.
	Doors []Opening `json:"doors"`
	// Windows have the same types as Doors.
	Windows []Opening `json:"windows"`
	// Sunroof has type sunroof.
	Sunroof []Opening `json:"sunroof"`
	// Storage has types front and rear.
	Storage []Opening `json:"storage"`
	// ChargingPort has type chargingPort.
	ChargingPort []Opening `json:"chargingPort"`
	Meta         Meta      `json:"-"` // metadata of the response
}

func (v *LockStatus) setMeta(m Meta) { v.Meta = m }

// Opening is the state of one door, window, sunroof, storage unit or charging port.
type Opening struct {
	// Type says which one, such as "frontLeft".
	Type string `json:"type"`
	// Status is "OPEN", "CLOSED" or "UNKNOWN".
	Status string `json:"status"`
}

// LockStatus returns the lock state and open openings: GET .../security
// (permission read_security).
func (c *Client) LockStatus(ctx context.Context, vehicleID string, opts ...RequestOption) (*LockStatus, error) {
	return getVehicle[LockStatus](ctx, c, vehicleID, PathLockStatus, nil, opts)
}

// ServiceHistory is the vehicle's dealer service records.
type ServiceHistory struct {
	Records []ServiceRecord // in the order Smartcar sends them
	Meta    Meta            // metadata of the response
}

func (v *ServiceHistory) setMeta(m Meta) { v.Meta = m }

// UnmarshalJSON reads the JSON array Smartcar answers with.
func (v *ServiceHistory) UnmarshalJSON(b []byte) error {
	return json.Unmarshal(b, &v.Records)
}

// ServiceRecord is one service visit.
type ServiceRecord struct {
	// ServiceID identifies the record; empty when Smartcar sends null.
	ServiceID string
	// ServiceDate is when the service happened; zero if unknown.
	ServiceDate time.Time
	// OdometerDistance is the odometer reading at the time, in km or miles.
	OdometerDistance float64
	ServiceTasks     []ServiceTask   // what was done
	ServiceDetails   []ServiceDetail // where or how it was recorded
	ServiceCost      ServiceCost     // what it cost
}

// ServiceTask is one task of a service visit.
type ServiceTask struct {
	TaskID          string // empty when Smartcar sends null
	TaskDescription string // such as "oil change"
}

// ServiceDetail describes where or how the service was recorded.
type ServiceDetail struct {
	// Type is, for example, "dealership" or "manual_entry".
	Type  string `json:"type"`
	Value string `json:"value"` // free text, often empty
}

// ServiceCost is what a service visit cost.
type ServiceCost struct {
	// TotalCost is nil when unknown.
	TotalCost *float64 `json:"totalCost"`
	Currency  string   `json:"currency"` // ISO 4217 code, such as "USD"
}

// UnmarshalJSON reads a record tolerantly: ids may be numbers or strings, dates
// that do not parse are left zero, and serviceDetails may be an object or a list.
func (r *ServiceRecord) UnmarshalJSON(b []byte) error {
	var w struct {
		ServiceID        json.RawMessage `json:"serviceId"`
		ServiceDate      string          `json:"serviceDate"`
		OdometerDistance float64         `json:"odometerDistance"`
		ServiceTasks     []struct {
			TaskID          json.RawMessage `json:"taskId"`
			TaskDescription string          `json:"taskDescription"`
		} `json:"serviceTasks"`
		ServiceDetails json.RawMessage `json:"serviceDetails"`
		ServiceCost    ServiceCost     `json:"serviceCost"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = ServiceRecord{
		ServiceID:        rawString(w.ServiceID),
		ServiceDate:      parseTime(w.ServiceDate),
		OdometerDistance: w.OdometerDistance,
		ServiceCost:      w.ServiceCost,
	}
	for _, t := range w.ServiceTasks {
		r.ServiceTasks = append(r.ServiceTasks, ServiceTask{TaskID: rawString(t.TaskID), TaskDescription: t.TaskDescription})
	}
	var one ServiceDetail
	if json.Unmarshal(w.ServiceDetails, &r.ServiceDetails) != nil && json.Unmarshal(w.ServiceDetails, &one) == nil {
		r.ServiceDetails = []ServiceDetail{one}
	}
	return nil
}

// ServiceHistory returns the service records between start and end: GET
// .../service/history?start_date&end_date (permission read_service_history). A zero
// time leaves that bound to Smartcar (by default the last year).
func (c *Client) ServiceHistory(ctx context.Context, vehicleID string, start, end time.Time, opts ...RequestOption) (*ServiceHistory, error) {
	q := url.Values{}
	if !start.IsZero() {
		q.Set("start_date", start.UTC().Format(time.RFC3339))
	}
	if !end.IsZero() {
		q.Set("end_date", end.UTC().Format(time.RFC3339))
	}
	return getVehicle[ServiceHistory](ctx, c, vehicleID, PathServiceHistory, q, opts)
}

// DiagnosticSystemStatus is the health of the vehicle's systems.
type DiagnosticSystemStatus struct {
	Systems []SystemStatus `json:"systems"` // one per monitored system
	Meta    Meta           `json:"-"`       // metadata of the response
}

func (v *DiagnosticSystemStatus) setMeta(m Meta) { v.Meta = m }

// SystemStatus is the health of one system.
type SystemStatus struct {
	// SystemID names the system, such as "SYSTEM_TPMS".
	SystemID string `json:"systemId"`
	// Status is "OK" or "ALERT".
	Status string `json:"status"`
	// Description explains an alert; often empty.
	Description string `json:"description"`
}

// DiagnosticSystemStatus returns the health of the vehicle's systems: GET
// .../diagnostics/system_status (permission read_diagnostics).
func (c *Client) DiagnosticSystemStatus(ctx context.Context, vehicleID string, opts ...RequestOption) (*DiagnosticSystemStatus, error) {
	return getVehicle[DiagnosticSystemStatus](ctx, c, vehicleID, PathDiagnosticSystemStatus, nil, opts)
}

// DiagnosticTroubleCodes are the vehicle's active diagnostic trouble codes.
type DiagnosticTroubleCodes struct {
	ActiveCodes []TroubleCode `json:"activeCodes"` // empty when all is well
	Meta        Meta          `json:"-"`           // metadata of the response
}

func (v *DiagnosticTroubleCodes) setMeta(m Meta) { v.Meta = m }

// TroubleCode is one active diagnostic trouble code.
type TroubleCode struct {
	// Code is the OBD code, such as "P302D".
	Code string
	// Timestamp is when it was raised; zero if unknown.
	Timestamp time.Time
}

// UnmarshalJSON leaves Timestamp zero when it is null or unreadable.
func (tc *TroubleCode) UnmarshalJSON(b []byte) error {
	var w struct {
		Code      string `json:"code"`
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*tc = TroubleCode{Code: w.Code, Timestamp: parseTime(w.Timestamp)}
	return nil
}

// DiagnosticTroubleCodes returns the active trouble codes: GET
// .../diagnostics/dtcs (permission read_diagnostics).
func (c *Client) DiagnosticTroubleCodes(ctx context.Context, vehicleID string, opts ...RequestOption) (*DiagnosticTroubleCodes, error) {
	return getVehicle[DiagnosticTroubleCodes](ctx, c, vehicleID, PathDiagnosticTroubleCodes, nil, opts)
}

// PermissionPage is one page of the permissions the token holds for a vehicle.
type PermissionPage struct {
	Permissions []string `json:"permissions"` // such as "read_odometer"
	Paging      Paging   `json:"paging"`      // where the page lies in the whole list
	Meta        Meta     `json:"-"`           // metadata of the response
}

func (v *PermissionPage) setMeta(m Meta) { v.Meta = m }

// Permissions reads one page of the permissions the application holds for the
// vehicle: GET .../permissions?limit&offset. A limit of 0 or less leaves the page
// size to Smartcar.
func (c *Client) Permissions(ctx context.Context, vehicleID string, limit, offset int, opts ...RequestOption) (*PermissionPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return getVehicle[PermissionPage](ctx, c, vehicleID, PathPermissions, q, opts)
}

// AllPermissions returns every permission the application holds for the vehicle,
// following the pages the way VehicleIDs does.
func (c *Client) AllPermissions(ctx context.Context, vehicleID string, opts ...RequestOption) ([]string, error) {
	var perms []string
	seen := map[string]bool{}
	for offset := 0; ; {
		page, err := c.Permissions(ctx, vehicleID, 0, offset, opts...)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, p := range page.Permissions {
			if !seen[p] {
				seen[p] = true
				perms = append(perms, p)
				added++
			}
		}
		offset += len(page.Permissions)
		if added == 0 || len(perms) >= page.Paging.Count {
			return perms, nil
		}
	}
}

// ActionResult is Smartcar's answer to a command (lock, charge, disconnect, ...).
// Success is an HTTP 2xx; a refusal is an *Error instead.
type ActionResult struct {
	// Status is "success" (older material also shows "SUCCESS").
	Status string `json:"status"`
	// Message is Smartcar's comment, such as "Successfully sent request to vehicle".
	Message string `json:"message"`
	Meta    Meta   `json:"-"` // metadata of the response
}

func (v *ActionResult) setMeta(m Meta) { v.Meta = m }

// sendVehicle sends method to .../{sub} with a JSON body and decodes a new T.
func sendVehicle[T any, P interface {
	*T
	result
}](ctx context.Context, c *Client, method, vehicleID, sub string, body any, opts []RequestOption) (*T, error) {
	p, err := vehiclePath(vehicleID, sub)
	if err != nil {
		return nil, err
	}
	var v T
	meta, err := c.do(ctx, call{method: method, path: p, body: body, opts: opts}, &v)
	if err != nil {
		return nil, err
	}
	P(&v).setMeta(meta)
	return &v, nil
}

// SetChargeLimit sets the state of charge at which charging stops, a fraction
// between 0 and 1: POST .../charge/limit (permission control_charge).
func (c *Client) SetChargeLimit(ctx context.Context, vehicleID string, limit float64, opts ...RequestOption) (*ActionResult, error) {
	if limit < 0 || limit > 1 {
		return nil, fmt.Errorf("smartcar: charge limit %v is not between 0 and 1", limit)
	}
	return sendVehicle[ActionResult](ctx, c, http.MethodPost, vehicleID, PathChargeLimit, map[string]float64{"limit": limit}, opts)
}

// StartCharge starts charging: POST .../charge {"action":"START"} (permission
// control_charge).
func (c *Client) StartCharge(ctx context.Context, vehicleID string, opts ...RequestOption) (*ActionResult, error) {
	return sendVehicle[ActionResult](ctx, c, http.MethodPost, vehicleID, PathCharge, map[string]string{"action": "START"}, opts)
}

// StopCharge stops charging: POST .../charge {"action":"STOP"} (permission
// control_charge).
func (c *Client) StopCharge(ctx context.Context, vehicleID string, opts ...RequestOption) (*ActionResult, error) {
	return sendVehicle[ActionResult](ctx, c, http.MethodPost, vehicleID, PathCharge, map[string]string{"action": "STOP"}, opts)
}

// Lock locks the vehicle: POST .../security {"action":"LOCK"} (permission
// control_security).
func (c *Client) Lock(ctx context.Context, vehicleID string, opts ...RequestOption) (*ActionResult, error) {
	return sendVehicle[ActionResult](ctx, c, http.MethodPost, vehicleID, PathLockStatus, map[string]string{"action": "LOCK"}, opts)
}

// Unlock unlocks the vehicle: POST .../security {"action":"UNLOCK"} (permission
// control_security).
func (c *Client) Unlock(ctx context.Context, vehicleID string, opts ...RequestOption) (*ActionResult, error) {
	return sendVehicle[ActionResult](ctx, c, http.MethodPost, vehicleID, PathLockStatus, map[string]string{"action": "UNLOCK"}, opts)
}

// SendDestination sends a destination to the vehicle's navigation system: POST
// .../navigation/destination (permission control_navigation). Coordinates out of
// range are refused before any request, as the official SDKs do.
func (c *Client) SendDestination(ctx context.Context, vehicleID string, latitude, longitude float64, opts ...RequestOption) (*ActionResult, error) {
	if latitude < -90 || latitude > 90 || longitude < -180 || longitude > 180 {
		return nil, fmt.Errorf("smartcar: destination (%v, %v) is not a valid latitude/longitude", latitude, longitude)
	}
	body := map[string]float64{"latitude": latitude, "longitude": longitude}
	return sendVehicle[ActionResult](ctx, c, http.MethodPost, vehicleID, "/navigation/destination", body, opts)
}

// Disconnect revokes the application's access to the vehicle: DELETE
// .../application. The user must go through Connect again to grant it.
func (c *Client) Disconnect(ctx context.Context, vehicleID string, opts ...RequestOption) (*ActionResult, error) {
	return sendVehicle[ActionResult](ctx, c, http.MethodDelete, vehicleID, "/application", nil, opts)
}

// Subscription links a vehicle to a webhook.
type Subscription struct {
	WebhookID string `json:"webhookId"` // the webhook subscribed to
	VehicleID string `json:"vehicleId"` // the vehicle subscribed
	Meta      Meta   `json:"-"`         // metadata of the response
}

func (v *Subscription) setMeta(m Meta) { v.Meta = m }

// Subscribe subscribes the vehicle to the webhook: POST .../webhooks/{webhookID},
// authorised by the vehicle's access token.
func (c *Client) Subscribe(ctx context.Context, vehicleID, webhookID string, opts ...RequestOption) (*Subscription, error) {
	if webhookID == "" {
		return nil, errors.New("smartcar: empty webhook id")
	}
	return sendVehicle[Subscription](ctx, c, http.MethodPost, vehicleID, "/webhooks/"+url.PathEscape(webhookID), nil, opts)
}

// Unsubscribe removes the vehicle from the webhook: DELETE .../webhooks/{webhookID}.
// Smartcar authorises this call with the application management token amt, not
// the vehicle's token; the amt replaces the client's Authorization header when the
// client comes from Config.Client (a client that sets Authorization itself, such as
// one from oauth2.NewClient, overrides it and the call fails with AUTHENTICATION).
func (c *Client) Unsubscribe(ctx context.Context, vehicleID, webhookID, amt string, opts ...RequestOption) (*ActionResult, error) {
	if webhookID == "" {
		return nil, errors.New("smartcar: empty webhook id")
	}
	opts = append(opts[:len(opts):len(opts)], WithHeader("Authorization", "Bearer "+amt))
	return sendVehicle[ActionResult](ctx, c, http.MethodDelete, vehicleID, "/webhooks/"+url.PathEscape(webhookID), nil, opts)
}
