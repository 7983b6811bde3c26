package sandbox

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Powertrains of emulated vehicles. They decide which endpoints a random-email
// vehicle can serve (a Tesla has no fuel tank).
const (
	powertrainICE  = "ICE"
	powertrainPHEV = "PHEV"
	powertrainBEV  = "BEV"
)

// Compatibility levels of test-mode VIN accounts (§7.2), also used for the
// powertrain-derived capabilities of every other vehicle.
const (
	levelCompatible   = "compatible"
	levelPHEV         = "phev"
	levelIncompatible = "incompatible"
	levelFuel         = "fuel"
	levelBEV          = "bev"
	levelDinosaur     = "dinosaur" // accepted; treated as fuel (meaning unconfirmed)
)

// brand is one make shown on the brand selector.
type brand struct {
	Make   string // upper-case id as the API returns it (MERCEDES_BENZ)
	Name   string // what people read (Mercedes-Benz)
	Models []model
}

// model is a realistic model of a make. The first model of each make is the one a
// random email gets (CHEVROLET → Volt, as the official e2e suites expect).
type model struct {
	Name       string
	Powertrain string
	From, To   int // model years
}

// brands is the brand list, in the alphabetical order Connect shows.
var brands = []brand{
	{"ACURA", "Acura", []model{{"RDX", powertrainICE, 2019, 2024}, {"MDX", powertrainICE, 2017, 2024}}},
	{"AUDI", "Audi", []model{{"e-tron", powertrainBEV, 2019, 2023}, {"Q5", powertrainICE, 2018, 2024}, {"A4", powertrainICE, 2017, 2024}}},
	{"BMW", "BMW", []model{{"i3", powertrainBEV, 2017, 2021}, {"X5", powertrainICE, 2018, 2024}, {"330e", powertrainPHEV, 2018, 2024}}},
	{"BUICK", "Buick", []model{{"Enclave", powertrainICE, 2018, 2024}, {"Encore", powertrainICE, 2017, 2022}}},
	{"CADILLAC", "Cadillac", []model{{"LYRIQ", powertrainBEV, 2023, 2025}, {"Escalade", powertrainICE, 2018, 2024}}},
	{"CHEVROLET", "Chevrolet", []model{{"Volt", powertrainPHEV, 2016, 2019}, {"Bolt EV", powertrainBEV, 2017, 2023}, {"Silverado", powertrainICE, 2018, 2024}}},
	{"CHRYSLER", "Chrysler", []model{{"Pacifica Hybrid", powertrainPHEV, 2017, 2024}, {"300", powertrainICE, 2017, 2023}}},
	{"DODGE", "Dodge", []model{{"Charger", powertrainICE, 2017, 2023}, {"Durango", powertrainICE, 2017, 2024}}},
	{"FORD", "Ford", []model{{"Mustang Mach-E", powertrainBEV, 2021, 2024}, {"F-150", powertrainICE, 2018, 2024}, {"Escape", powertrainICE, 2017, 2024}}},
	{"GMC", "GMC", []model{{"Sierra", powertrainICE, 2018, 2024}, {"HUMMER EV", powertrainBEV, 2022, 2025}}},
	{"HONDA", "Honda", []model{{"Accord", powertrainICE, 2018, 2024}, {"Clarity", powertrainPHEV, 2018, 2021}}},
	{"HYUNDAI", "Hyundai", []model{{"IONIQ 5", powertrainBEV, 2022, 2025}, {"Tucson", powertrainICE, 2018, 2024}}},
	{"INFINITI", "INFINITI", []model{{"QX60", powertrainICE, 2017, 2024}}},
	{"JAGUAR", "Jaguar", []model{{"I-PACE", powertrainBEV, 2019, 2024}, {"F-PACE", powertrainICE, 2017, 2024}}},
	{"JEEP", "Jeep", []model{{"Wrangler 4xe", powertrainPHEV, 2021, 2024}, {"Grand Cherokee", powertrainICE, 2018, 2024}}},
	{"KIA", "Kia", []model{{"Niro EV", powertrainBEV, 2019, 2024}, {"Sorento", powertrainICE, 2018, 2024}}},
	{"LAND_ROVER", "Land Rover", []model{{"Range Rover", powertrainICE, 2018, 2024}, {"Defender", powertrainICE, 2020, 2024}}},
	{"LEXUS", "Lexus", []model{{"RX", powertrainICE, 2018, 2024}, {"NX", powertrainICE, 2018, 2024}}},
	{"LINCOLN", "Lincoln", []model{{"Aviator Grand Touring", powertrainPHEV, 2020, 2024}, {"Nautilus", powertrainICE, 2019, 2024}}},
	{"MAZDA", "Mazda", []model{{"CX-5", powertrainICE, 2018, 2024}, {"MX-30", powertrainBEV, 2022, 2023}}},
	{"MERCEDES_BENZ", "Mercedes-Benz", []model{{"EQS", powertrainBEV, 2022, 2025}, {"GLC", powertrainICE, 2018, 2024}}},
	{"MINI", "MINI", []model{{"Cooper SE", powertrainBEV, 2020, 2024}, {"Countryman", powertrainICE, 2018, 2024}}},
	{"NISSAN", "Nissan", []model{{"LEAF", powertrainBEV, 2018, 2024}, {"Rogue", powertrainICE, 2018, 2024}}},
	{"POLESTAR", "Polestar", []model{{"Polestar 2", powertrainBEV, 2021, 2025}}},
	{"PORSCHE", "Porsche", []model{{"Taycan", powertrainBEV, 2020, 2025}, {"Cayenne", powertrainICE, 2018, 2024}}},
	{"RAM", "Ram", []model{{"1500", powertrainICE, 2019, 2024}}},
	{"RIVIAN", "Rivian", []model{{"R1T", powertrainBEV, 2022, 2025}, {"R1S", powertrainBEV, 2022, 2025}}},
	{"SUBARU", "Subaru", []model{{"Outback", powertrainICE, 2018, 2024}, {"Solterra", powertrainBEV, 2023, 2025}}},
	{"TESLA", "Tesla", []model{{"Model 3", powertrainBEV, 2018, 2025}, {"Model S", powertrainBEV, 2017, 2025}, {"Model X", powertrainBEV, 2017, 2025}, {"Model Y", powertrainBEV, 2020, 2025}}},
	{"TOYOTA", "Toyota", []model{{"RAV4", powertrainICE, 2019, 2024}, {"Prius Prime", powertrainPHEV, 2017, 2024}, {"bZ4X", powertrainBEV, 2023, 2025}}},
	{"VOLKSWAGEN", "Volkswagen", []model{{"ID.4", powertrainBEV, 2021, 2024}, {"Atlas", powertrainICE, 2018, 2024}}},
	{"VOLVO", "Volvo", []model{{"XC40 Recharge", powertrainBEV, 2021, 2024}, {"XC90", powertrainICE, 2017, 2024}}},
}

// findBrand returns the brand for a make id (case-insensitive; "Mercedes-Benz" and
// "mercedes benz" also match MERCEDES_BENZ).
func findBrand(make string) (brand, bool) {
	m := strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(make)))
	for _, b := range brands {
		if b.Make == m {
			return b, true
		}
	}
	return brand{}, false
}

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

// levelOf maps a powertrain to the capability level it implies.
func levelOf(powertrain string) string {
	switch powertrain {
	case powertrainBEV:
		return levelBEV
	case powertrainPHEV:
		return levelPHEV
	default:
		return levelFuel
	}
}

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
	p := strings.ReplaceAll(make, "_", "")
	p = (p + "XXXX")[:4]
	return fmt.Sprintf("0SC%s%s", p, strings.ToUpper(hex.EncodeToString(seed[8:13])))
}

// Features an endpoint may need beyond a permission.
const (
	featureNone    = ""
	featureFuel    = "fuel"    // a fuel tank / engine: fuel, engine oil
	featureBattery = "battery" // a traction battery: battery, capacity, charge
)

// capable reports whether the vehicle can serve an endpoint needing feature.
// compatible and phev serve everything; fuel has no battery; bev has no fuel tank or
// engine oil; incompatible serves nothing.
func (v *vehicle) capable(feature string) bool {
	switch v.Level {
	case levelIncompatible:
		return false
	case levelFuel, levelDinosaur:
		return feature != featureBattery
	case levelBEV:
		return feature != featureFuel
	default:
		return true
	}
}

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

// brandOfVIN guesses the brand of a test VIN built like derivedVIN ("0SC" and four
// letters of the make, e.g. 0SCAUDI…, 0SCTESL…).
func brandOfVIN(vin string) (brand, bool) {
	if len(vin) != 17 {
		return brand{}, false
	}
	if !strings.HasPrefix(vin, "0SC") {
		// A real VIN: its first three characters (the WMI) name the manufacturer.
		if m, ok := wmiMakes[vin[:3]]; ok {
			return findBrand(m)
		}
		return brand{}, false
	}
	for _, b := range brands {
		p := (strings.ReplaceAll(b.Make, "_", "") + "XXXX")[:4]
		if vin[3:7] == p {
			return b, true
		}
	}
	return brand{}, false
}

// wmiMakes maps common world manufacturer identifiers (a VIN's first three
// characters) to makes, so single_select_vin with a real-looking VIN can skip the
// brand list.
var wmiMakes = map[string]string{
	"19U": "ACURA", "5J8": "ACURA", "JH4": "ACURA",
	"WAU": "AUDI", "WA1": "AUDI",
	"WBA": "BMW", "WBY": "BMW", "5UX": "BMW", "WBS": "BMW",
	"5GA": "BUICK", "KL4": "BUICK", "1G4": "BUICK",
	"1GY": "CADILLAC", "1G6": "CADILLAC",
	"1G1": "CHEVROLET", "1GC": "CHEVROLET", "1GN": "CHEVROLET", "3GN": "CHEVROLET", "KL7": "CHEVROLET",
	"2C4": "CHRYSLER", "2C3": "CHRYSLER",
	"2B3": "DODGE", "1C3": "DODGE",
	"1FA": "FORD", "1FM": "FORD", "1FT": "FORD", "3FM": "FORD",
	"1GT": "GMC", "1GK": "GMC",
	"1HG": "HONDA", "2HG": "HONDA", "JHM": "HONDA", "5FN": "HONDA",
	"KMH": "HYUNDAI", "KM8": "HYUNDAI", "5NP": "HYUNDAI",
	"JN1": "INFINITI", "5N1": "INFINITI",
	"SAJ": "JAGUAR", "SAD": "JAGUAR",
	"1C4": "JEEP", "1J4": "JEEP",
	"KNA": "KIA", "KND": "KIA", "5XY": "KIA",
	"SAL": "LAND_ROVER",
	"JTH": "LEXUS", "2T2": "LEXUS",
	"5LM": "LINCOLN", "1LN": "LINCOLN",
	"JM1": "MAZDA", "JM3": "MAZDA",
	"W1K": "MERCEDES_BENZ", "WDD": "MERCEDES_BENZ", "4JG": "MERCEDES_BENZ", "W1N": "MERCEDES_BENZ",
	"WMW": "MINI",
	"1N4": "NISSAN", "JN8": "NISSAN", "3N1": "NISSAN",
	"LPS": "POLESTAR", "YSM": "POLESTAR",
	"WP0": "PORSCHE", "WP1": "PORSCHE",
	"1C6": "RAM", "3C6": "RAM",
	"7PD": "RIVIAN",
	"JF1": "SUBARU", "JF2": "SUBARU", "4S4": "SUBARU",
	"5YJ": "TESLA", "7SA": "TESLA", "LRW": "TESLA", "XP7": "TESLA",
	"JTD": "TOYOTA", "JTE": "TOYOTA", "4T1": "TOYOTA", "2T3": "TOYOTA", "5TD": "TOYOTA",
	"WVW": "VOLKSWAGEN", "1V2": "VOLKSWAGEN", "3VW": "VOLKSWAGEN", "WVG": "VOLKSWAGEN",
	"YV1": "VOLVO", "YV4": "VOLVO",
}
