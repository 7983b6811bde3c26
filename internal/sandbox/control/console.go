package control

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"smartcargo/internal/sandbox/journal"
)

// The console: server-rendered pages with plain forms (no script, no external asset).
// Every form posts to a console route that calls the same Backend method as the JSON
// API, then redirects back (post/redirect/get); a refused change re-renders the page
// with the reason and status 400.

func (c *Control) consoleRoutes(r chi.Router) {
	cop := http.NewCrossOriginProtection()
	// The sandbox strips trailing slashes before routing: Prefix is the overview.
	r.Get(Prefix, c.overview)
	r.Get(Prefix+"/", c.overview)
	r.Get(Prefix+"/vehicles/{id}", c.vehiclePage)
	r.Get(Prefix+"/journal", c.journalPage)
	r.Get(Prefix+"/journal/{id}", c.entryPage)
	r.Group(func(r chi.Router) {
		r.Use(cop.Handler, limitForm)
		r.Post(Prefix+"/vehicles/{id}", c.postVehicle)
		r.Post(Prefix+"/vehicles/{id}/expire-tokens", c.postExpire)
		r.Post(Prefix+"/clock", c.postClock)
		r.Post(Prefix+"/journal/clear", c.postClearJournal)
		r.Post(Prefix+"/faults", c.postFault)
		r.Post(Prefix+"/faults/clear", c.postClearFaults)
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, http.StatusNotFound, "Page not found", "The console has no page at "+r.URL.Path+".")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, http.StatusMethodNotAllowed, "Method not allowed", r.Method+" is not allowed here.")
	})
}

// limitForm bounds console form bodies.
func limitForm(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		next.ServeHTTP(w, r)
	})
}

type basePage struct {
	Title string
	Now   time.Time
	// Back is the page's own path, where its forms return.
	Back string
	// Problem is why the last change was refused.
	Problem string
}

func (c *Control) base(title string, r *http.Request) basePage {
	return basePage{Title: title, Now: c.b.Now(), Back: r.URL.RequestURI()}
}

func (c *Control) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Cache-Control", "no-store")
	if err := c.pages.Render(w, status, name, data); err != nil {
		c.log.Error("console: render", "page", name, "err", err)
	}
}

type errorPage struct {
	basePage
	Status  int
	Message string
}

func (c *Control) errorPage(w http.ResponseWriter, status int, title, message string) {
	c.render(w, status, "error", errorPage{basePage: basePage{Title: title, Now: c.b.Now(), Back: Prefix + "/"}, Status: status, Message: message})
}

type overviewPage struct {
	basePage
	Clients  []Client
	Users    []User
	Vehicles []Vehicle
	Faults   []map[string]any
	Profiles []Profile
}

func (c *Control) overview(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "overview", overviewPage{basePage: c.base("Sandbox console", r),
		Clients: c.b.Clients(), Users: c.b.Users(), Vehicles: c.b.Vehicles(),
		Faults: faultViews(c.b.Faults()), Profiles: c.b.Profiles()})
}

type vehiclePage struct {
	basePage
	Vehicle  Vehicle
	Chart    template.HTML
	Profiles []Profile
	Stages   []string
	Journal  []journal.Entry
}

func (c *Control) vehiclePage(w http.ResponseWriter, r *http.Request) {
	c.showVehicle(w, r, chi.URLParam(r, "id"), http.StatusOK, "")
}

func (c *Control) showVehicle(w http.ResponseWriter, r *http.Request, id string, status int, problem string) {
	v, err := c.b.Vehicle(id)
	if err != nil {
		c.errorPage(w, http.StatusNotFound, "No such vehicle", "No connected vehicle has the id "+id+".")
		return
	}
	p := vehiclePage{basePage: c.base(v.Make+" "+v.Model, r), Vehicle: v, Profiles: c.b.Profiles(),
		Stages: []string{"parked", "driving", "charging"}, Journal: c.b.Journal().List(journal.Filter{VehicleID: id, Limit: 10})}
	p.Back = Prefix + "/vehicles/" + url.PathEscape(id)
	p.Problem = problem
	if v.Mode == "simulated" {
		if pts, err := c.b.History(id, 12*time.Hour, 48); err == nil {
			p.Chart = historyChart(pts)
		}
	}
	c.render(w, status, "vehicle", p)
}

// postVehicle applies the console's vehicle forms: each form sends the fields it
// changes (a button's name=value, or inputs; empty inputs are left alone).
func (c *Control) postVehicle(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, http.StatusBadRequest, "Form not readable", "The form could not be read: it may be too large.")
		return
	}
	p, err := formPatch(r.PostForm)
	if err == nil {
		_, err = c.b.PatchVehicle(id, p)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			c.errorPage(w, http.StatusNotFound, "No such vehicle", "No connected vehicle has the id "+id+".")
			return
		}
		c.showVehicle(w, r, id, http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"/vehicles/"+url.PathEscape(id), http.StatusSeeOther)
}

// formPatch reads a vehicle form into a Patch.
func formPatch(f url.Values) (Patch, error) {
	var p Patch
	str := func(name string) *string {
		if !f.Has(name) {
			return nil
		}
		v := strings.TrimSpace(f.Get(name))
		return &v
	}
	boolean := func(name string) (*bool, error) {
		s := str(name)
		if s == nil || *s == "" {
			return nil, nil
		}
		b, err := strconv.ParseBool(*s)
		if err != nil {
			return nil, &InputError{Field: name, Reason: "want true or false"}
		}
		return &b, nil
	}
	number := func(name string) (*float64, error) {
		s := str(name)
		if s == nil || *s == "" {
			return nil, nil
		}
		n, err := strconv.ParseFloat(*s, 64)
		if err != nil {
			return nil, &InputError{Field: name, Reason: fmt.Sprintf("%q is not a number", *s)}
		}
		return &n, nil
	}
	var err error
	if s := str("stage"); s != nil && *s != "" {
		p.Stage = s
	}
	if s := str("profile"); s != nil {
		p.Profile = s
	}
	if p.PluggedIn, err = boolean("pluggedIn"); err != nil {
		return p, err
	}
	if p.Locked, err = boolean("locked"); err != nil {
		return p, err
	}
	for name, dst := range map[string]**float64{"batteryPercent": &p.BatteryPercent, "fuelPercent": &p.FuelPercent,
		"odometerKm": &p.OdometerKm, "chargeLimitPercent": &p.ChargeLimit, "speedKmh": &p.SpeedKmh} {
		if *dst, err = number(name); err != nil {
			return p, err
		}
	}
	if p.ChargeLimit != nil {
		l := *p.ChargeLimit / 100 // the form takes a percentage
		p.ChargeLimit = &l
	}
	lat, err := number("latitude")
	if err != nil {
		return p, err
	}
	lon, err := number("longitude")
	if err != nil {
		return p, err
	}
	if (lat == nil) != (lon == nil) {
		return p, &InputError{Field: "location", Reason: "give both latitude and longitude"}
	}
	if lat != nil {
		p.Location = &Location{Latitude: *lat, Longitude: *lon}
	}
	return p, nil
}

func (c *Control) postExpire(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if _, err := c.b.ExpireTokens(id, ""); err != nil {
		c.showVehicle(w, r, id, http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"/vehicles/"+url.PathEscape(id), http.StatusSeeOther)
}

func (c *Control) postClock(w http.ResponseWriter, r *http.Request) {
	back := backOf(r)
	d, err := duration("advance", r.PostFormValue("advance"))
	if err == nil && (d <= 0 || d > 366*24*time.Hour) {
		err = badRequest(`advance must be a positive duration up to 8784h (for example "30m")`)
	}
	if err != nil {
		c.errorPage(w, http.StatusBadRequest, "Clock not moved", err.Error())
		return
	}
	c.b.Advance(d)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (c *Control) postClearJournal(w http.ResponseWriter, r *http.Request) {
	c.b.Journal().Clear()
	http.Redirect(w, r, Prefix+"/journal", http.StatusSeeOther)
}

func (c *Control) postFault(w http.ResponseWriter, r *http.Request) {
	times, _ := strconv.Atoi(r.PostFormValue("times"))
	status, _ := strconv.Atoi(r.PostFormValue("status"))
	body := faultBody{Method: r.PostFormValue("method"), Path: r.PostFormValue("path"), Times: times, Status: status,
		Type: r.PostFormValue("type"), Code: r.PostFormValue("code"), RetryAfter: r.PostFormValue("retryAfter"),
		Delay: r.PostFormValue("delay"), Hang: r.PostFormValue("hang") == "true"}
	f, err := body.fault()
	if err == nil {
		_, err = c.b.Faults().Add(f, c.b.ErrorTypes())
	}
	if err != nil {
		c.errorPage(w, http.StatusBadRequest, "Fault not added", err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"/#faults", http.StatusSeeOther)
}

func (c *Control) postClearFaults(w http.ResponseWriter, r *http.Request) {
	c.b.Faults().Clear()
	http.Redirect(w, r, Prefix+"/#faults", http.StatusSeeOther)
}

// backOf is the console page a form returns to: its "back" field if it names one,
// else the overview. Only console paths are accepted (no open redirect).
func backOf(r *http.Request) string {
	b := r.PostFormValue("back")
	if strings.HasPrefix(b, Prefix+"/") && !strings.HasPrefix(b, "//") && !strings.ContainsAny(b, "\\\r\n") {
		return b
	}
	return Prefix + "/"
}

type journalPage struct {
	basePage
	Entries         []journal.Entry
	Vehicle, Path   string
	Limit, Returned int
}

func (c *Control) journalPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := journalPage{basePage: c.base("Request journal", r), Vehicle: q.Get("vehicle"), Path: q.Get("path"), Limit: 200}
	p.Entries = c.b.Journal().List(journal.Filter{VehicleID: p.Vehicle, Path: p.Path, Limit: p.Limit})
	p.Returned = len(p.Entries)
	c.render(w, http.StatusOK, "journal", p)
}

type entryPage struct {
	basePage
	Entry journal.Entry
}

func (c *Control) entryPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
	e, ok := c.b.Journal().Get(id)
	if err != nil || !ok {
		c.errorPage(w, http.StatusNotFound, "No such entry", "That journal entry is not kept (it may have been cleared or pushed out).")
		return
	}
	c.render(w, http.StatusOK, "entry", entryPage{basePage: c.base(fmt.Sprintf("%s %s", e.Method, e.Path), r), Entry: e})
}

// funcs are the console templates' helpers.
func funcs() template.FuncMap {
	return template.FuncMap{
		"clock": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"pct": func(f *float64) string {
			if f == nil {
				return "–"
			}
			return strconv.FormatFloat(*f, 'f', 1, 64) + " %"
		},
		"num": func(f *float64, unit string) string {
			if f == nil {
				return "–"
			}
			return strconv.FormatFloat(*f, 'f', 1, 64) + " " + unit
		},
		"limitPct": func(f *float64) string {
			if f == nil {
				return ""
			}
			return strconv.FormatFloat(*f*100, 'f', 0, 64)
		},
		"str": func(s *string) string {
			if s == nil {
				return "–"
			}
			return *s
		},
		"yesno": func(b *bool, yes, no string) string {
			if b == nil {
				return "–"
			}
			if *b {
				return yes
			}
			return no
		},
		"ms": func(d time.Duration) string {
			return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
		},
		"deref": func(b *bool) bool { return b != nil && *b },
		"short": func(s string) string {
			if len(s) > 8 {
				return s[:8] + "…"
			}
			return s
		},
		"where": func(l *Location) string {
			if l == nil {
				return "–"
			}
			return fmt.Sprintf("%.5f, %.5f", l.Latitude, l.Longitude)
		},
	}
}
