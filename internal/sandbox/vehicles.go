package sandbox

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"smartcargo/internal/sandbox/compat"
)

// The make and model table, powertrains, features and capability levels belong to
// internal/sandbox/compat, so that Connect's brand list, its vehicles and the
// compatibility API answer from one table.
type (
	brand = compat.Make
	model = compat.Model
)

const (
	powertrainICE  = compat.ICE
	powertrainPHEV = compat.PHEV
	powertrainBEV  = compat.BEV
)

const (
	levelCompatible   = compat.LevelCompatible
	levelPHEV         = compat.LevelPHEV
	levelIncompatible = compat.LevelIncompatible
	levelFuel         = compat.LevelFuel
	levelBEV          = compat.LevelBEV
	levelDinosaur     = compat.LevelDinosaur
)

// brands is the brand list, in the alphabetical order Connect shows.
var brands = compat.Makes()

func findBrand(make string) (brand, bool) { return compat.FindMake(make) }

// vehicle is one emulated vehicle. Everything about it is derived from the login
// email, the brand and its index, so the same login always gives the same vehicles.
type vehicle struct {
	ID         string
	Make       string
	Model      string
	Year       int
	VIN        string
	Powertrain string
	Level      string // capability level, see levels above
	// ErrType and ErrCode are set for <TYPE>.<CODE>@smartcar.com accounts: every
	// non-static endpoint of the vehicle answers that error.
	ErrType, ErrCode string
}

// accountKind classifies a login email (§7.2).
type accountKind int

const (
	accountRandom  accountKind = iota // any email: one vehicle of the chosen brand
	accountMany                       // <N>-vehicles@smartcar.com
	accountVIN                        // <VIN>@<level>[.smartcar.com]
	accountError                      // <TYPE>.<CODE>@smartcar.com
	accountSpecial                    // smartcar@<scenario>.com
)

// Special scenario accounts (§7.2).
const (
	scenarioSuccessful          = "successful-request"
	scenarioVehicleIncompatible = "vehicle-incompatible"
	scenarioInvalidSubscription = "invalid-subscription"
)

// account is a parsed login email.
type account struct {
	Email    string // trimmed, lower-case: the identity
	Kind     accountKind
	Count    int    // accountMany
	VIN      string // accountVIN, accountSpecial
	Level    string // accountVIN
	ErrType  string // accountError
	ErrCode  string // accountError
	Scenario string // accountSpecial
}

var (
	reManyVehicles = regexp.MustCompile(`^([0-9]{1,3})-vehicles@smartcar\.com$`)
	reVINAccount   = regexp.MustCompile(`^([a-z0-9]{17})@(compatible|phev|incompatible|fuel|bev|dinosaur)(\.smartcar\.com)?$`)
	reErrorAccount = regexp.MustCompile(`^([a-z_]+)\.([a-z0-9_]+)@smartcar\.com$`)
)

// specialAccounts maps the scenario emails to the VIN Smartcar documents for them.
var specialAccounts = map[string]account{
	"smartcar@successful-request.com":   {Kind: accountSpecial, Scenario: scenarioSuccessful, VIN: "0SCAUDI037A5ADB1C"},
	"smartcar@vehicle-incompatible.com": {Kind: accountSpecial, Scenario: scenarioVehicleIncompatible, VIN: "0SCAUDI012FE3B132"},
	"smartcar@invalid-subscription.com": {Kind: accountSpecial, Scenario: scenarioInvalidSubscription, VIN: "0SCAUDI0155C49A95"},
}

// errBadEmail is what the login form says about an input that is not an email.
var errBadEmail = errors.New("enter an email address, for example driver@example.com")

// parseEmail classifies a login email. Only the shape "local@domain" is required: test
// mode accepts any email and any password.
func parseEmail(s string) (account, error) {
	e := strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || at == len(e)-1 || len(e) > 254 || strings.ContainsAny(e, " \t\r\n") {
		return account{}, errBadEmail
	}
	if a, ok := specialAccounts[e]; ok {
		a.Email = e
		return a, nil
	}
	if m := reManyVehicles.FindStringSubmatch(e); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n >= 1 && n <= 999 {
			return account{Email: e, Kind: accountMany, Count: n}, nil
		}
	}
	if m := reVINAccount.FindStringSubmatch(e); m != nil {
		return account{Email: e, Kind: accountVIN, VIN: strings.ToUpper(m[1]), Level: m[2]}, nil
	}
	if m := reErrorAccount.FindStringSubmatch(e); m != nil && knownErrorType(strings.ToUpper(m[1])) {
		return account{Email: e, Kind: accountError, ErrType: strings.ToUpper(m[1]), ErrCode: strings.ToUpper(m[2])}, nil
	}
	return account{Email: e, Kind: accountRandom}, nil
}

// userID is the Smartcar user id of an account: the same email is the same user.
func (a account) userID() string { return nameID("user", a.Email) }

// vehicles returns the account's vehicles for the brand chosen in Connect.
func (a account) vehicles(b brand) []*vehicle {
	n := 1
	if a.Kind == accountMany {
		n = a.Count
	}
	vs := make([]*vehicle, n)
	for i := range vs {
		m := b.Models[i%len(b.Models)]
		if a.Kind == accountVIN {
			m = modelForLevel(b, a.Level)
		}
		seed := hashParts(a.Email, b.Make, strconv.Itoa(i))
		v := &vehicle{
			ID:         nameID("vehicle", a.Email, b.Make, strconv.Itoa(i)),
			Make:       b.Make,
			Model:      m.Name,
			Year:       m.From + int(binary.BigEndian.Uint64(seed[:8])%uint64(m.To-m.From+1)),
			VIN:        derivedVIN(b.Make, seed),
			Powertrain: m.Powertrain,
			Level:      levelOf(m.Powertrain),
		}
		switch a.Kind {
		case accountVIN:
			v.VIN, v.Level = a.VIN, a.Level
			if a.Level == levelDinosaur {
				v.Level = levelFuel
			}
		case accountSpecial:
			v.VIN, v.Level = a.VIN, levelCompatible
			if a.Scenario == scenarioVehicleIncompatible {
				v.Level = levelIncompatible
			}
		case accountError:
			v.ErrType, v.ErrCode = a.ErrType, a.ErrCode
		}
		vs[i] = v
	}
	return vs
}

// modelForLevel picks the make's first model whose powertrain suits a test level, so
// that 5YJ…@bev.smartcar.com on FORD is a Mustang Mach-E rather than an F-150.
func modelForLevel(b brand, level string) model {
	want := map[string]string{levelBEV: powertrainBEV, levelPHEV: powertrainPHEV, levelFuel: powertrainICE, levelDinosaur: powertrainICE}[level]
	for _, m := range b.Models {
		if m.Powertrain == want {
			return m
		}
	}
	return b.Models[0]
}

func levelOf(powertrain string) string { return compat.LevelOf(powertrain) }

func hashParts(parts ...string) []byte {
	h := sha1.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// derivedVIN builds a 17-character test VIN: "0SC" (Smartcar's test prefix), four
// letters of the make, ten hex digits of the hash.
func derivedVIN(make string, seed []byte) string {
	return compat.TestVINPrefix(make) + strings.ToUpper(hex.EncodeToString(seed[8:13]))
}

// Features an endpoint may need beyond a permission.
const (
	featureNone    = compat.FeatureNone
	featureFuel    = compat.FeatureFuel
	featureBattery = compat.FeatureBattery
)

// capable reports whether the vehicle can serve an endpoint needing feature.
func (v *vehicle) capable(feature string) bool { return compat.Capable(v.Level, feature) }

// permissionFeature is the feature a permission needs: a fuel-only vehicle cannot
// grant read_battery, a BEV cannot grant read_fuel.
func permissionFeature(p string) string {
	switch p {
	case "read_fuel", "read_engine_oil":
		return featureFuel
	case "read_battery", "read_charge", "control_charge", "read_charge_locations", "read_charge_records", "read_charge_events":
		return featureBattery
	}
	return featureNone
}

// meets reports whether the vehicle can serve every required permission (Connect
// shows it as incompatible otherwise).
func (v *vehicle) meets(required []string) bool {
	if v.Level == levelIncompatible {
		return false
	}
	for _, p := range required {
		if !v.capable(permissionFeature(p)) {
			return false
		}
	}
	return true
}

// brandOfVIN is the brand a VIN names: a test VIN by its prefix ("0SC" and four letters
// of the make, as derivedVIN builds them), any other by its WMI.
func brandOfVIN(vin string) (brand, bool) { return compat.MakeOfVIN(vin) }
