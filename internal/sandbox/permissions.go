package sandbox

import "strings"

// permission is one Smartcar permission with the words the grant screen uses for it
// and, for one with a v2 endpoint in the sandbox, the feature name the compatibility
// matrix lists for it (Smartcar's matrix says "EV battery", "Lock & unlock").
type permission struct {
	Name  string
	Words string
	Label string
}

// permissions lists the permissions the sandbox knows, in the order the grant screen
// shows them.
var permissions = []permission{
	{"read_vehicle_info", "Know make, model, and year", "Vehicle info"},
	{"read_vin", "Read VIN", "VIN"},
	{"read_odometer", "Retrieve total distance traveled", "Odometer"},
	{"read_location", "Access the vehicle's location", "Location"},
	{"read_fuel", "Read fuel tank level", "Fuel tank"},
	{"read_battery", "Read EV battery's capacity and state of charge", "EV battery"},
	{"read_charge", "Know whether the vehicle is charging", "EV charging status"},
	{"control_charge", "Start or stop the vehicle's charging", "EV start & stop charge"},
	{"read_engine_oil", "Read engine oil health", "Engine oil life"},
	{"read_tires", "Read tire pressure", "Tire pressure"},
	{"read_security", "Know whether the vehicle is locked or unlocked", "Lock status"},
	{"control_security", "Lock or unlock the vehicle", "Lock & unlock"},
	{"control_navigation", "Send commands to the vehicle's navigation system", "Navigation"},
	{"read_service_history", "Read the vehicle's service records", "Service history"},
	{"read_diagnostics", "Read the vehicle's diagnostic information", "Diagnostics"},
	{"read_alerts", "Read alerts from the vehicle", ""},
	{"read_charge_locations", "Know the locations where the vehicle charges", ""},
	{"read_charge_records", "Read charging records", ""},
	{"read_charge_events", "Know when charging starts and stops", ""},
	{"read_climate", "Read the climate control settings", ""},
	{"control_climate", "Change the climate control settings", ""},
	{"read_compass", "Know the direction the vehicle is heading", ""},
	{"read_extended_vehicle_info", "Read the vehicle's configuration", ""},
	{"read_speedometer", "Know the vehicle's speed", ""},
	{"read_thermometer", "Read temperatures from the vehicle", ""},
	{"read_user_profile", "Read the connected account's profile", ""},
}

// defaultScope is granted when the authorize URL carries no scope. Real Connect then
// uses the app's dashboard configuration (unconfirmed); the sandbox has no dashboard,
// so it asks for the core data and command permissions.
var defaultScope = []string{
	"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_fuel",
	"read_battery", "read_charge", "control_charge", "read_engine_oil", "read_tires",
	"read_security", "control_security",
}

// requestedScope is a parsed scope parameter.
type requestedScope struct {
	All      []string // every permission, "required:" stripped, duplicates removed, in order
	Required []string // those that carried "required:"
}

// parseScope splits a scope parameter on spaces (either encoding has already been
// decoded) and strips "required:".
func parseScope(s string) requestedScope {
	var rs requestedScope
	seen := map[string]bool{}
	for _, f := range strings.Fields(s) {
		name, req := strings.CutPrefix(f, "required:")
		if name == "" {
			continue
		}
		if req {
			rs.Required = append(rs.Required, name)
		}
		if !seen[name] {
			seen[name] = true
			rs.All = append(rs.All, name)
		}
	}
	if len(rs.All) == 0 {
		rs.All = append(rs.All, defaultScope...)
	}
	return rs
}

// permissionWords returns the plain words for a permission, or the permission's own
// name for one the sandbox does not know (it still grants it).
func permissionWords(name string) string {
	for _, p := range permissions {
		if p.Name == name {
			return p.Words
		}
	}
	return strings.ReplaceAll(name, "_", " ")
}
