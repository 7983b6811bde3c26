package compat

import "strings"

// validVIN reports whether vin (upper case) is 17 letters and digits. Test mode takes any
// such string (the sandbox's 0SCAUDI… VINs have an I), so I, O and Q are not refused.
func validVIN(vin string) bool {
	if len(vin) != 17 {
		return false
	}
	for _, c := range vin {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// yearCodes are the model year characters (a VIN's 10th), 2010 onwards: A = 2010 ... Y =
// 2030 (no I, O, Q, U, Z), then 1 = 2031 ... 9 = 2039. The same characters meant 1980 to
// 2009 one cycle earlier.
const yearCodes = "ABCDEFGHJKLMNPRSTVWXY123456789"

// modelYear decodes a VIN's model year: its 10th character, in the cycle its 7th says
// (a digit there means 1980–2009, a letter 2010–2039, as for North American cars). ok is
// false for a character that is no year.
func modelYear(vin string) (year int, ok bool) {
	i := strings.IndexByte(yearCodes, vin[9])
	if i < 0 {
		return 0, false
	}
	if vin[6] >= '0' && vin[6] <= '9' {
		return 1980 + i, true
	}
	return 2010 + i, true
}

// teslaModel is the model a Tesla VIN's 4th character names.
func teslaModel(c byte) (string, bool) {
	switch c {
	case 'S':
		return "Model S", true
	case '3':
		return "Model 3", true
	case 'X':
		return "Model X", true
	case 'Y':
		return "Model Y", true
	}
	return "", false
}

// modelsOfVIN are the models of mk the VIN can be: those sold in its model year (a test
// VIN, whose characters after the prefix are random, or an undecodable year, matches
// every year), narrowed to the one a Tesla VIN names.
func modelsOfVIN(mk Make, vin string) []Model {
	year, hasYear := modelYear(vin)
	if isTestVIN(vin) {
		hasYear = false
	}
	name, named := "", false
	if mk.Make == "TESLA" && !isTestVIN(vin) {
		name, named = teslaModel(vin[3])
	}
	var out []Model
	for _, m := range mk.Models {
		if hasYear && (year < m.From || year > m.To) {
			continue
		}
		if named && m.Name != name {
			continue
		}
		out = append(out, m)
	}
	return out
}
