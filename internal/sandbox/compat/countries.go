package compat

import "strings"

// isoCountries are the ISO 3166-1 alpha-2 codes (the officially assigned ones, as the
// tz database's iso3166.tab lists them).
const isoCountries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

// europe are the countries of Smartcar's EUROPE region (the EU, the EEA, Switzerland
// and the United Kingdom).
const europe = "AT BE BG CH CY CZ DE DK EE ES FI FR GB GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"

// Regions of the matrix (Smartcar's values).
const (
	RegionUS     = "US"
	RegionCA     = "CA"
	RegionEurope = "EUROPE"
)

func regions() []string { return []string{RegionUS, RegionCA, RegionEurope} }

// isCountry reports whether c (upper case) is an ISO 3166-1 alpha-2 code.
func isCountry(c string) bool { return len(c) == 2 && hasCode(isoCountries, c) }

// region is the matrix region of a country, "" outside them (no make is compatible there).
func region(country string) string {
	switch {
	case country == "US":
		return RegionUS
	case country == "CA":
		return RegionCA
	case hasCode(europe, country):
		return RegionEurope
	}
	return ""
}

// usCapabilities reports whether the by-VIN answer lists capabilities for a country:
// Smartcar checks capabilities for vehicles sold in the United States only; elsewhere
// it checks the make alone.
func usCapabilities(country string) bool { return country == "US" }

func hasCode(list, c string) bool {
	for _, x := range strings.Fields(list) {
		if x == c {
			return true
		}
	}
	return false
}
