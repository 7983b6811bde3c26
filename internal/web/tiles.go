package web

import (
	"strconv"

	"smartcargo/internal/smartcar"
)

// dashboardTiles are the dashboard's tiles, one row each, in the order the page shows
// them. A row names the permission its tile needs, where its values come from and how
// they read on the page; buildDashboard and the vehicle list's glance only walk the
// table, so a new signal is a new row. Each row has a source per API version (v2
// batch items, v3 signals) feeding the same signalValues, so both versions show the
// same tiles with the same DOM.
var dashboardTiles = []tileRow{
	{
		key: "vin", title: "VIN", scope: "read_vin", words: "VIN",
		header: true, static: true,
		v2:   v2Item(smartcar.PathVIN, func(v *smartcar.VIN) signalValues { return signalValues{VIN: v.VIN} }),
		v3:   v3Signal(smartcar.SignalVIN, func(v string, _ string) signalValues { return signalValues{VIN: v} }),
		show: func(v signalValues, _ unitLabels) []tilePart { return parts(headline(v.VIN, "")) },
	},
	{
		key: "battery", title: "Battery", scope: "read_battery", words: "battery", glance: glanceEnergy,
		v2: v2Item(smartcar.PathBattery, func(v *smartcar.Battery) signalValues {
			return signalValues{Fraction: v.PercentRemaining, Range: v.Range}
		}),
		v3: v3Source{
			codes: []string{smartcar.SignalStateOfCharge, smartcar.SignalBatteryRange},
			read: func(s *smartcar.SignalSet, units string) reading {
				r := readSignal(s, smartcar.SignalStateOfCharge, units, func(m smartcar.Measurement, _ string) signalValues {
					return signalValues{Fraction: fractionOf(m)}
				})
				rng := readSignal(s, smartcar.SignalBatteryRange, units, func(b smartcar.BatteryRange, units string) signalValues {
					return signalValues{Range: distanceIn(b.Measurement, units)}
				})
				r.more = []error{rng.err}
				r.values.Range, r.values.NoRange = rng.values.Range, rng.err != nil
				return r
			},
		},
		show: func(v signalValues, u unitLabels) []tilePart {
			p := percent(v.Fraction)
			out := parts(headline(p, ""), meter(v.Fraction, p, p, bands{"0.2", "0.5", "1"}))
			if v.NoRange {
				return out
			}
			return append(out, terms("", term("Range", number(v.Range, 0)+" "+u.Distance)))
		},
	},
	{
		key: "fuel", title: "Fuel", scope: "read_fuel", words: "fuel", glance: glanceEnergy,
		v2: v2Item(smartcar.PathFuel, func(v *smartcar.Fuel) signalValues {
			return signalValues{Fraction: v.PercentRemaining, Range: v.Range, Amount: v.AmountRemaining}
		}),
		v3: v3Source{
			codes: []string{smartcar.SignalFuelLevel, smartcar.SignalFuelRange, smartcar.SignalFuelAmount},
			read: func(s *smartcar.SignalSet, units string) reading {
				r := readSignal(s, smartcar.SignalFuelLevel, units, func(m smartcar.Measurement, _ string) signalValues {
					return signalValues{Fraction: fractionOf(m)}
				})
				rng := readSignal(s, smartcar.SignalFuelRange, units, func(m smartcar.Measurement, units string) signalValues {
					return signalValues{Range: distanceIn(m, units)}
				})
				amount := readSignal(s, smartcar.SignalFuelAmount, units, func(m smartcar.Measurement, units string) signalValues {
					return signalValues{Amount: volumeIn(m, units)}
				})
				r.more = []error{rng.err, amount.err}
				r.values.Range, r.values.NoRange = rng.values.Range, rng.err != nil
				r.values.Amount, r.values.NoAmount = amount.values.Amount, amount.err != nil
				return r
			},
		},
		show: func(v signalValues, u unitLabels) []tilePart {
			p := percent(v.Fraction)
			var rows []kvRow
			if !v.NoRange {
				rows = append(rows, term("Range", number(v.Range, 0)+" "+u.Distance))
			}
			if !v.NoAmount {
				rows = append(rows, term("In the tank", number(v.Amount, 1)+" "+u.Volume))
			}
			out := parts(headline(p, ""), meter(v.Fraction, p, p, bands{"0.15", "0.4", "1"}))
			if len(rows) == 0 {
				return out
			}
			return append(out, terms("", rows...))
		},
	},
	{
		// One tile for two items: the charge limit shows inside it when it could be read.
		key: "charge", title: "Charging", scope: "read_charge", words: "charging",
		v2: v2Source{
			paths: []string{smartcar.PathCharge, smartcar.PathChargeLimit},
			read: func(b *smartcar.BatchResponse) reading {
				r := readItem(b, smartcar.PathCharge, func(v *smartcar.Charge) signalValues {
					return signalValues{Charge: v.State, PluggedIn: v.IsPluggedIn}
				})
				limit := readItem(b, smartcar.PathChargeLimit, func(v *smartcar.ChargeLimit) signalValues {
					return signalValues{Limit: v.Limit}
				})
				r.more = []error{limit.err}
				r.values.Limit, r.values.HasLimit = limit.values.Limit, limit.err == nil
				return r
			},
		},
		v3: v3Source{
			codes: []string{smartcar.SignalChargingStatus, smartcar.SignalCableConnected, smartcar.SignalChargeLimits},
			read: func(s *smartcar.SignalSet, units string) reading {
				r := readSignal(s, smartcar.SignalChargingStatus, units, func(v smartcar.ChargeState, _ string) signalValues {
					return signalValues{Charge: v}
				})
				cable := readSignal(s, smartcar.SignalCableConnected, units, func(v bool, _ string) signalValues {
					return signalValues{PluggedIn: v}
				})
				limit := readSignal(s, smartcar.SignalChargeLimits, units, func(v smartcar.ChargeLimits, _ string) signalValues {
					return signalValues{Limit: v.ActiveLimit / percentPerOne}
				})
				r.more = []error{cable.err, limit.err}
				r.values.PluggedIn = cable.values.PluggedIn
				r.values.Limit, r.values.HasLimit = limit.values.Limit, limit.err == nil
				return r
			},
		},
		show: func(v signalValues, _ unitLabels) []tilePart {
			cable := "Not plugged in"
			if v.PluggedIn {
				cable = "Plugged in"
			}
			rows := []kvRow{term("Cable", cable)}
			out := []tilePart{headline(chargeStateWords(v.Charge), "")}
			if !v.HasLimit {
				return append(out, terms("", rows...))
			}
			p := percent(v.Limit)
			rows = append(rows, kvRow{Term: "Charge limit", Value: p, ID: "charge-limit"})
			return append(out, terms("", rows...), meter(v.Limit, p, "Charge limit "+p, bands{}))
		},
	},
	{
		key: "odometer", title: "Odometer", scope: "read_odometer", words: "odometer",
		v2: v2Item(smartcar.PathOdometer, func(v *smartcar.Odometer) signalValues {
			return signalValues{Distance: v.Distance}
		}),
		v3: v3Signal(smartcar.SignalOdometer, func(m smartcar.Measurement, units string) signalValues {
			return signalValues{Distance: distanceIn(m, units)}
		}),
		show: func(v signalValues, u unitLabels) []tilePart {
			return parts(headline(number(v.Distance, 0), u.Distance))
		},
	},
	{
		key: "location", title: "Location", scope: "read_location", words: "location",
		v2: v2Item(smartcar.PathLocation, func(v *smartcar.Location) signalValues {
			return signalValues{Latitude: v.Latitude, Longitude: v.Longitude}
		}),
		v3: v3Signal(smartcar.SignalLocation, func(v smartcar.PreciseLocation, _ string) signalValues {
			return signalValues{Latitude: v.Latitude, Longitude: v.Longitude}
		}),
		show: func(v signalValues, _ unitLabels) []tilePart {
			lat := strconv.FormatFloat(v.Latitude, 'f', 5, 64)
			lon := strconv.FormatFloat(v.Longitude, 'f', 5, 64)
			return parts(tilePart{Value: &valuePart{Text: lat + ", " + lon, Small: true}},
				tilePart{Link: &linkPart{ID: "map-link", URL: osmURL(v.Latitude, v.Longitude), Text: "Open in OpenStreetMap ↗"}})
		},
	},
	{
		key: "security", title: "Locks", scope: "read_security", words: "lock status", glance: glanceLock,
		v2: v2Item(smartcar.PathLockStatus, func(v *smartcar.LockStatus) signalValues {
			return signalValues{Locked: v.IsLocked, Openings: openings(v)}
		}),
		v3: v3Source{
			codes: []string{smartcar.SignalIsLocked, smartcar.SignalDoors, smartcar.SignalWindows,
				smartcar.SignalSunroof, smartcar.SignalRearTrunk, smartcar.SignalFrontTrunk},
			read: func(s *smartcar.SignalSet, units string) reading {
				r := readSignal(s, smartcar.SignalIsLocked, units, func(v bool, _ string) signalValues {
					return signalValues{Locked: v}
				})
				if r.err == nil {
					// The openings are details of the tile: one that cannot be read is left out.
					r.values.Openings = openings(v3LockStatus(s))
				}
				return r
			},
		},
		show: func(v signalValues, _ unitLabels) []tilePart {
			pill := &valuePart{Text: "Unlocked", Pill: "warn"}
			if v.Locked {
				pill = &valuePart{Text: "Locked", Pill: "ok"}
			}
			out := parts(tilePart{Value: pill})
			if len(v.Openings) == 0 {
				return out
			}
			rows := make([]kvRow, len(v.Openings))
			for i, o := range v.Openings {
				rows[i] = kvRow{Term: o.Name, Value: o.Status, Open: o.Open}
			}
			return append(out, terms("openings", rows...))
		},
	},
	{
		key: "tires", title: "Tire pressure", scope: "read_tires", words: "tire pressure",
		v2: v2Item(smartcar.PathTirePressure, func(v *smartcar.TirePressure) signalValues {
			return signalValues{Tires: [4]float64{v.FrontLeft, v.FrontRight, v.BackLeft, v.BackRight}}
		}),
		v3: v3Signal(smartcar.SignalTires, func(v smartcar.Tires, units string) signalValues {
			var out signalValues
			for _, t := range v.Values {
				if i, ok := corner(t.Row, t.Column); ok {
					out.Tires[i] = pressureIn(t.Pressure, v.Unit, units)
				}
			}
			return out
		}),
		show: func(v signalValues, u unitLabels) []tilePart {
			rows := make([]kvRow, len(tireNames))
			for i, name := range tireNames {
				rows[i] = term(name, number(v.Tires[i], 0)+" "+u.Pressure)
			}
			return parts(terms("tires", rows...))
		},
	},
	{
		key: "oil", title: "Oil life", scope: "read_engine_oil", words: "oil life",
		v2: v2Item(smartcar.PathEngineOil, func(v *smartcar.EngineOil) signalValues {
			return signalValues{Fraction: v.LifeRemaining}
		}),
		v3: v3Signal(smartcar.SignalOilLife, func(m smartcar.Measurement, _ string) signalValues {
			return signalValues{Fraction: fractionOf(m)}
		}),
		show: func(v signalValues, _ unitLabels) []tilePart {
			p := percent(v.Fraction)
			return parts(headline(p, ""), meter(v.Fraction, p, p, bands{"0.2", "0.5", "1"}))
		},
	},
}

// tireNames are the tires in signalValues.Tires order.
var tireNames = [4]string{"Front left", "Front right", "Back left", "Back right"}

// commandScopes are the permissions of the dashboard's commands, in words.
var commandScopes = []struct{ scope, words string }{
	{"control_security", "lock and unlock"}, {"control_charge", "start and stop charging"},
}

// tileRow is one tile of the dashboard.
type tileRow struct {
	key   string // the tile's DOM id
	title string // its heading
	scope string // the permission it needs: without it the tile is not shown
	words string // that permission in words, for "Not shared with this app"
	// header puts the tile in the page's header line (the VIN) instead of the grid.
	header bool
	// static marks a reading that says nothing of the vehicle's state (the VIN): its
	// failure does not count when deciding whether every signal failed.
	static bool
	// glance puts the tile's reading in the vehicle list too.
	glance glanceUse
	// v2 reads the tile from the items of a v2 batch, v3 from the signals of API v3,
	// both into the same signalValues.
	v2 v2Source
	v3 v3Source
	// show lays out an ok reading's values, in the units of u.
	show func(v signalValues, u unitLabels) []tilePart
}

// glanceUse says what a tile gives the vehicle list's row.
type glanceUse int

const (
	glanceNone   glanceUse = iota
	glanceEnergy           // the Range column: the first of these tiles that reads ok
	glanceLock             // the Locks column
)

// v2Source reads one tile from a v2 batch: the batch items it needs, and the
// function that turns them into a reading.
type v2Source struct {
	paths []string
	read  func(b *smartcar.BatchResponse) reading
}

// v2Item is the v2Source of a tile fed by one batch item, decoded into a T.
func v2Item[T any](path string, values func(*T) signalValues) v2Source {
	return v2Source{paths: []string{path}, read: func(b *smartcar.BatchResponse) reading {
		return readItem(b, path, values)
	}}
}

func readItem[T any](b *smartcar.BatchResponse, path string, values func(*T) signalValues) reading {
	var v T
	meta, err := b.Result(path, &v)
	if err != nil {
		return reading{err: err}
	}
	return reading{meta: meta, values: values(&v)}
}

// reading is what a source gives one tile: its values, or the error of its main item.
type reading struct {
	meta   smartcar.Meta
	err    error
	values signalValues
	// more are the outcomes of the tile's other items (nil for ok): the charge limit
	// of the charge tile. They count when deciding whether every signal failed.
	more []error
}

// anyOK reports whether one of the reading's items was read.
func (r reading) anyOK() bool {
	if r.err == nil {
		return true
	}
	for _, err := range r.more {
		if err == nil {
			return true
		}
	}
	return false
}

// signalValues are a tile's values, in the session's units, whatever the source:
// each tile uses its own few fields.
type signalValues struct {
	VIN string
	// Fraction is the battery's or the tank's charge, or the oil life (0 to 1).
	Fraction float64
	// Range is the distance left on the battery or the tank; Amount the fuel in it.
	// NoRange and NoAmount say they could not be read (a v3 signal of their own).
	Range, Amount       float64
	NoRange, NoAmount   bool
	Distance            float64 // odometer
	Latitude, Longitude float64
	Charge              smartcar.ChargeState
	PluggedIn           bool
	// Limit is the charge limit (0 to 1), when HasLimit.
	Limit    float64
	HasLimit bool
	Tires    [4]float64 // in tireNames order
	Locked   bool
	Openings []openingRow
}

// tileView is one tile as the template shows it: its state and its parts, in order.
type tileView struct {
	tile
	Key, Title string
	Parts      []tilePart
}

// tilePart is one piece of a tile's body: exactly one field is set. The "tile-part"
// template draws each kind.
type tilePart struct {
	Value *valuePart
	Gauge *gaugePart
	List  *listPart
	Link  *linkPart
}

// valuePart is a tile's headline value, with its unit, or as a pill ("ok" or "warn").
type valuePart struct {
	Text, Unit, Pill string
	Small            bool
}

// gaugePart is a meter of a fraction (0 to 1), with optional bands.
type gaugePart struct {
	Fraction    float64
	Text, Title string
	Bands       bands
}

// bands are a meter's low, high and optimum attributes; empty ones are left out.
type bands struct{ Low, High, Optimum string }

// listPart is a list of terms and values; Class is added to "kv".
type listPart struct {
	Class string
	Rows  []kvRow
}

// kvRow is one term of a list; Open marks an opening that is open, ID the value's DOM id.
type kvRow struct {
	Term, Value, ID string
	Open            bool
}

// linkPart is a link away from the app (a new tab, no referrer).
type linkPart struct{ ID, URL, Text string }

func parts(p ...tilePart) []tilePart { return p }

// headline is the tile's main value, with its unit (if any) after it.
func headline(text, unit string) tilePart { return tilePart{Value: &valuePart{Text: text, Unit: unit}} }

func meter(f float64, text, title string, b bands) tilePart {
	return tilePart{Gauge: &gaugePart{Fraction: f, Text: text, Title: title, Bands: b}}
}

func terms(class string, rows ...kvRow) tilePart {
	return tilePart{List: &listPart{Class: class, Rows: rows}}
}

func term(name, value string) kvRow { return kvRow{Term: name, Value: value} }

// v3Source reads one tile from the vehicle's v3 signals: the codes it reads, and
// the function that turns them into a reading in the session's units ("metric" or
// "imperial"; v3 bodies name their unit, which is converted when it differs).
type v3Source struct {
	codes []string
	read  func(s *smartcar.SignalSet, units string) reading
}

// v3Signal is the v3Source of a tile fed by one signal, decoded into a T.
func v3Signal[T any](code string, values func(v T, units string) signalValues) v3Source {
	return v3Source{codes: []string{code}, read: func(s *smartcar.SignalSet, units string) reading {
		return readSignal(s, code, units, values)
	}}
}

// readSignal reads one signal of the set: its values, or its own error (a PERMISSION
// or COMPATIBILITY *smartcar.Error, or ErrNoSignal for a code the list lacks).
func readSignal[T any](s *smartcar.SignalSet, code, units string, values func(v T, units string) signalValues) reading {
	sig, err := s.Signal(code)
	if err != nil {
		return reading{err: err}
	}
	v, err := smartcar.SignalValue[T](sig)
	if err != nil {
		return reading{err: err}
	}
	return reading{meta: signalMeta(sig), values: values(v, units)}
}

// signalMeta is a signal's metadata as a tile's: its age is when the vehicle
// recorded it (oemUpdatedAt, which v2.0 sends as sc-data-age), else when Smartcar
// read it.
func signalMeta(sig *smartcar.Signal) smartcar.Meta {
	m := sig.Meta
	m.DataAge = sig.OEMUpdatedAt
	if m.DataAge.IsZero() {
		m.DataAge = sig.RetrievedAt
	}
	return m
}

// corner is the index in tireNames of a v3 grid's cell (row 0 is the front, column
// 0 the left); false for a cell outside the four corners.
func corner(row, column int) (int, bool) {
	if row < 0 || row > 1 || column < 0 || column > 1 {
		return 0, false
	}
	return row*2 + column, true
}

// v3LockStatus is the v3 closures as v2.0's lock status, for the Locks tile's
// openings: doors and windows by corner, the sunroof, the trunks as storage.
func v3LockStatus(s *smartcar.SignalSet) *smartcar.LockStatus {
	ls := &smartcar.LockStatus{}
	status := func(open bool) string {
		if open {
			return "OPEN"
		}
		return "CLOSED"
	}
	cornerTypes := [4]string{"frontLeft", "frontRight", "backLeft", "backRight"}
	if d, err := s.Doors(); err == nil {
		for _, v := range d.Values {
			if i, ok := corner(v.Row, v.Column); ok {
				ls.Doors = append(ls.Doors, smartcar.Opening{Type: cornerTypes[i], Status: status(v.IsOpen)})
			}
		}
	}
	if w, err := s.Windows(); err == nil {
		for _, v := range w.Values {
			if i, ok := corner(v.Row, v.Column); ok {
				ls.Windows = append(ls.Windows, smartcar.Opening{Type: cornerTypes[i], Status: status(v.IsOpen)})
			}
		}
	}
	closure := func(code string) (smartcar.Closure, bool) {
		sig, _ := s.Lookup(code)
		c, err := smartcar.SignalValue[smartcar.Closure](sig)
		return c, err == nil
	}
	if c, ok := closure(smartcar.SignalSunroof); ok {
		ls.Sunroof = append(ls.Sunroof, smartcar.Opening{Type: "sunroof", Status: status(c.IsOpen)})
	}
	for _, st := range []struct{ code, typ string }{{smartcar.SignalRearTrunk, "rear"}, {smartcar.SignalFrontTrunk, "front"}} {
		if c, ok := closure(st.code); ok {
			ls.Storage = append(ls.Storage, smartcar.Opening{Type: st.typ, Status: status(c.IsOpen)})
		}
	}
	return ls
}

// v2Paths are the batch items the rows read (besides what the page reads itself).
func v2Paths(rows []tileRow, keep func(tileRow) bool) []string {
	var out []string
	for _, r := range rows {
		if keep(r) {
			out = append(out, r.v2.paths...)
		}
	}
	return out
}
