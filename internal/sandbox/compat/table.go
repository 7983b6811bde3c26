package compat

import "strings"

// Powertrains, as the compatibility matrix's type filter names them. The sandbox's
// vehicles are one of the first three; no make of the table has an HEV (a hybrid without
// a plug), so type=HEV is valid and lists nothing.
const (
	BEV  = "BEV"
	PHEV = "PHEV"
	ICE  = "ICE"
	HEV  = "HEV"
)

// powertrainTypes are the matrix's type values, in the order the reference lists them.
func powertrainTypes() []string { return []string{ICE, BEV, PHEV, HEV} }

// Features an endpoint may need beyond a permission.
const (
	FeatureNone    = ""
	FeatureFuel    = "fuel"    // a fuel tank / engine: fuel, engine oil
	FeatureBattery = "battery" // a traction battery: battery, capacity, charge
)

// Capability levels of test mode (the <VIN>@<level>.smartcar.com accounts and the
// compatibility API's test_mode_compatibility_level), also used for the
// powertrain-derived capabilities of every other vehicle.
const (
	LevelCompatible   = "compatible"
	LevelPHEV         = "phev"
	LevelIncompatible = "incompatible"
	LevelFuel         = "fuel"
	LevelBEV          = "bev"
	LevelDinosaur     = "dinosaur" // accepted; treated as fuel (meaning unconfirmed)
)

// levels lists the levels in the order Smartcar's validation message names them.
func levels() []string {
	return []string{LevelCompatible, LevelPHEV, LevelIncompatible, LevelFuel, LevelDinosaur, LevelBEV}
}

// KnownLevel reports whether s is a test-mode capability level.
func KnownLevel(s string) bool {
	for _, l := range levels() {
		if s == l {
			return true
		}
	}
	return false
}

// LevelOf maps a powertrain to the capability level it implies.
func LevelOf(powertrain string) string {
	switch powertrain {
	case BEV:
		return LevelBEV
	case PHEV:
		return LevelPHEV
	default:
		return LevelFuel
	}
}

// Capable reports whether a vehicle of a level can serve an endpoint needing feature:
// compatible and phev serve everything; fuel has no battery; bev has no fuel tank or
// engine oil; incompatible serves nothing.
func Capable(level, feature string) bool {
	switch level {
	case LevelIncompatible:
		return false
	case LevelFuel, LevelDinosaur:
		return feature != FeatureBattery
	case LevelBEV:
		return feature != FeatureFuel
	default:
		return true
	}
}

// Make is one make of the table, as Connect's brand list shows it.
type Make struct {
	Make   string // upper-case id as the API returns it (MERCEDES_BENZ)
	Name   string // what people read (Mercedes-Benz)
	Models []Model
}

// Model is a realistic model of a make. The first model of each make is the one a
// random email gets in Connect (CHEVROLET → Volt, as the official e2e suites expect).
type Model struct {
	Name       string
	Powertrain string
	From, To   int // model years
}

// Makes returns the table. It is shared: callers must not modify it.
func Makes() []Make { return makes }

// FindMake returns the make for a make id (case-insensitive; "Mercedes-Benz" and
// "mercedes benz" also match MERCEDES_BENZ).
func FindMake(name string) (Make, bool) {
	m := strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(strings.TrimSpace(name)))
	for _, b := range makes {
		if b.Make == m {
			return b, true
		}
	}
	return Make{}, false
}

// TestVINPrefix is the start of the sandbox's test VINs for a make: "0SC" (Smartcar's
// test prefix) and four letters of the make (0SCAUDI, 0SCTESL, 0SCBMWX).
func TestVINPrefix(make string) string {
	return "0SC" + (strings.ReplaceAll(make, "_", "") + "XXXX")[:4]
}

// MakeOfVIN returns the make a 17-character VIN names: a test VIN by its prefix
// (TestVINPrefix), any other by its world manufacturer identifier (its first three
// characters). Case matters not.
func MakeOfVIN(vin string) (Make, bool) {
	if len(vin) != 17 {
		return Make{}, false
	}
	vin = strings.ToUpper(vin)
	if !isTestVIN(vin) {
		if m, ok := wmiMakes[vin[:3]]; ok {
			return FindMake(m)
		}
		return Make{}, false
	}
	for _, b := range makes {
		if strings.HasPrefix(vin, TestVINPrefix(b.Make)) {
			return b, true
		}
	}
	return Make{}, false
}

func isTestVIN(vin string) bool { return strings.HasPrefix(vin, "0SC") }

// makes is the table: every make Connect lists, in its alphabetical order, with its
// models by powertrain and model years.
var makes = []Make{
	{"ACURA", "Acura", []Model{{"RDX", ICE, 2019, 2024}, {"MDX", ICE, 2017, 2024}}},
	{"AUDI", "Audi", []Model{{"e-tron", BEV, 2019, 2023}, {"Q5", ICE, 2018, 2024}, {"A4", ICE, 2017, 2024}}},
	{"BMW", "BMW", []Model{{"i3", BEV, 2017, 2021}, {"X5", ICE, 2018, 2024}, {"330e", PHEV, 2018, 2024}}},
	{"BUICK", "Buick", []Model{{"Enclave", ICE, 2018, 2024}, {"Encore", ICE, 2017, 2022}}},
	{"CADILLAC", "Cadillac", []Model{{"LYRIQ", BEV, 2023, 2025}, {"Escalade", ICE, 2018, 2024}}},
	{"CHEVROLET", "Chevrolet", []Model{{"Volt", PHEV, 2016, 2019}, {"Bolt EV", BEV, 2017, 2023}, {"Silverado", ICE, 2018, 2024}}},
	{"CHRYSLER", "Chrysler", []Model{{"Pacifica Hybrid", PHEV, 2017, 2024}, {"300", ICE, 2017, 2023}}},
	{"DODGE", "Dodge", []Model{{"Charger", ICE, 2017, 2023}, {"Durango", ICE, 2017, 2024}}},
	{"FORD", "Ford", []Model{{"Mustang Mach-E", BEV, 2021, 2024}, {"F-150", ICE, 2018, 2024}, {"Escape", ICE, 2017, 2024}}},
	{"GMC", "GMC", []Model{{"Sierra", ICE, 2018, 2024}, {"HUMMER EV", BEV, 2022, 2025}}},
	{"HONDA", "Honda", []Model{{"Accord", ICE, 2018, 2024}, {"Clarity", PHEV, 2018, 2021}}},
	{"HYUNDAI", "Hyundai", []Model{{"IONIQ 5", BEV, 2022, 2025}, {"Tucson", ICE, 2018, 2024}}},
	{"INFINITI", "INFINITI", []Model{{"QX60", ICE, 2017, 2024}}},
	{"JAGUAR", "Jaguar", []Model{{"I-PACE", BEV, 2019, 2024}, {"F-PACE", ICE, 2017, 2024}}},
	{"JEEP", "Jeep", []Model{{"Wrangler 4xe", PHEV, 2021, 2024}, {"Grand Cherokee", ICE, 2018, 2024}}},
	{"KIA", "Kia", []Model{{"Niro EV", BEV, 2019, 2024}, {"Sorento", ICE, 2018, 2024}}},
	{"LAND_ROVER", "Land Rover", []Model{{"Range Rover", ICE, 2018, 2024}, {"Defender", ICE, 2020, 2024}}},
	{"LEXUS", "Lexus", []Model{{"RX", ICE, 2018, 2024}, {"NX", ICE, 2018, 2024}}},
	{"LINCOLN", "Lincoln", []Model{{"Aviator Grand Touring", PHEV, 2020, 2024}, {"Nautilus", ICE, 2019, 2024}}},
	{"MAZDA", "Mazda", []Model{{"CX-5", ICE, 2018, 2024}, {"MX-30", BEV, 2022, 2023}}},
	{"MERCEDES_BENZ", "Mercedes-Benz", []Model{{"EQS", BEV, 2022, 2025}, {"GLC", ICE, 2018, 2024}}},
	{"MINI", "MINI", []Model{{"Cooper SE", BEV, 2020, 2024}, {"Countryman", ICE, 2018, 2024}}},
	{"NISSAN", "Nissan", []Model{{"LEAF", BEV, 2018, 2024}, {"Rogue", ICE, 2018, 2024}}},
	{"POLESTAR", "Polestar", []Model{{"Polestar 2", BEV, 2021, 2025}}},
	{"PORSCHE", "Porsche", []Model{{"Taycan", BEV, 2020, 2025}, {"Cayenne", ICE, 2018, 2024}}},
	{"RAM", "Ram", []Model{{"1500", ICE, 2019, 2024}}},
	{"RIVIAN", "Rivian", []Model{{"R1T", BEV, 2022, 2025}, {"R1S", BEV, 2022, 2025}}},
	{"SUBARU", "Subaru", []Model{{"Outback", ICE, 2018, 2024}, {"Solterra", BEV, 2023, 2025}}},
	{"TESLA", "Tesla", []Model{{"Model 3", BEV, 2018, 2025}, {"Model S", BEV, 2017, 2025}, {"Model X", BEV, 2017, 2025}, {"Model Y", BEV, 2020, 2025}}},
	{"TOYOTA", "Toyota", []Model{{"RAV4", ICE, 2019, 2024}, {"Prius Prime", PHEV, 2017, 2024}, {"bZ4X", BEV, 2023, 2025}}},
	{"VOLKSWAGEN", "Volkswagen", []Model{{"ID.4", BEV, 2021, 2024}, {"Atlas", ICE, 2018, 2024}}},
	{"VOLVO", "Volvo", []Model{{"XC40 Recharge", BEV, 2021, 2024}, {"XC90", ICE, 2017, 2024}}},
}

// wmiMakes maps common world manufacturer identifiers (a VIN's first three
// characters) to makes: single_select_vin with a real-looking VIN skips Connect's brand
// list, and the compatibility API knows the VIN's make.
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
