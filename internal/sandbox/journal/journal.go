// Package journal is the sandbox's request journal: every API and token call an app
// made, and every webhook delivery the sandbox made to an app, newest first, with the bodies (secrets redacted) kept for inspection from the
// console and the control API. It holds at most a fixed number of entries; the oldest
// go first.
package journal

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// MaxBody is how much of each body is kept: a dashboard's batch of a dozen signals
// answers about 4 KB.
const MaxBody = 16 << 10

// maxHeader is how much of each request header value is kept.
const maxHeader = 1 << 10

// Outgoing is the Direction of a call the sandbox made (a webhook delivery); the
// calls apps make to the sandbox have none.
const Outgoing = "out"

// Entry is one call.
type Entry struct {
	ID       uint64    `json:"id"`
	Time     time.Time `json:"time"`
	ClientID string    `json:"clientId"`
	// Direction is Outgoing for a call the sandbox made, to URL; Error says why such
	// a call got no answer (Status 0).
	Direction string `json:"direction,omitempty"`
	URL       string `json:"url,omitempty"`
	Error     string `json:"error,omitempty"`
	Method    string `json:"method"`
	// Path is the path as the client sent it (percent-encoding kept), Query its
	// query string (secret fields redacted).
	Path      string        `json:"path"`
	Query     string        `json:"query,omitempty"`
	VehicleID string        `json:"vehicleId"`
	Status    int           `json:"status"`
	Duration  time.Duration `json:"-"`
	RequestID string        `json:"requestId"`
	// RequestHeaders are the request's headers by lower-case name (several values
	// joined with ", "), credentials redacted; only in the detail view.
	RequestHeaders map[string]string `json:"requestHeaders,omitempty"`
	// ResponseHeaders are the answer's headers, the same way; only in the detail view.
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`
	// The bodies, redacted and cut to MaxBody; only in the detail view.
	RequestBody  string `json:"requestBody,omitempty"`
	ResponseBody string `json:"responseBody,omitempty"`

	// raw is what AddRaw kept, redacted only when the entry is read in detail: the
	// redaction costs more than the rest of an API call, and most entries are never
	// opened.
	raw *raw
}

// raw holds a call's unredacted headers and bodies (already cut to size).
type raw struct {
	header, respHeader http.Header
	reqType            string
	reqBody, respBody  []byte
}

// AddRaw records e with the call's request headers, request body (of content type
// reqType), response headers and JSON response body, which are redacted when the
// entry is read with Get or All, never before. e.Query is redacted at once (it is
// listed).
func (j *Journal) AddRaw(e Entry, header http.Header, reqType string, reqBody []byte, respHeader http.Header, respBody []byte) uint64 {
	e.raw = &raw{header: header, respHeader: respHeader, reqType: reqType, reqBody: cutBytes(reqBody), respBody: cutBytes(respBody)}
	e.Query = redactQuery(e.Query)
	return j.Add(e)
}

// redactQuery returns q as it was sent unless it holds a secret field, which it
// redacts.
func redactQuery(q string) string {
	if q == "" {
		return ""
	}
	vals, err := url.ParseQuery(q)
	if err == nil {
		secret := false
		for k := range vals {
			secret = secret || secretKeys[k]
		}
		if !secret {
			return q
		}
	}
	return Redact("application/x-www-form-urlencoded", []byte(q))
}

// redacted fills the detail fields from the raw parts, redacted.
func (e Entry) redacted() Entry {
	if e.raw != nil {
		e.RequestHeaders = RedactHeaders(e.raw.header)
		e.ResponseHeaders = RedactHeaders(e.raw.respHeader)
		e.RequestBody = Redact(e.raw.reqType, e.raw.reqBody)
		e.ResponseBody = Redact("application/json", e.raw.respBody)
		e.raw = nil
	}
	e.RequestBody, e.ResponseBody = cut(e.RequestBody), cut(e.ResponseBody)
	return e
}

func cutBytes(b []byte) []byte {
	if len(b) > MaxBody+1 {
		b = b[:MaxBody+1] // cut marks it as cut once redacted
	}
	return append([]byte(nil), b...)
}

// MarshalJSON adds durationMs, the unit the control API promises.
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	return json.Marshal(struct {
		plain
		DurationMs float64 `json:"durationMs"`
	}{plain(e), float64(e.Duration.Microseconds()) / 1000})
}

// UnmarshalJSON reads what MarshalJSON wrote (a saved journal).
func (e *Entry) UnmarshalJSON(b []byte) error {
	type plain Entry
	var v struct {
		plain
		DurationMs float64 `json:"durationMs"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Entry(v.plain)
	e.Duration = time.Duration(v.DurationMs * float64(time.Millisecond))
	return nil
}

// Filter selects entries; zero fields match everything.
type Filter struct {
	VehicleID string
	// Path matches entries whose path contains it.
	Path string
	// Limit caps the answer (0: every entry).
	Limit int
}

// Journal is safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	entries []Entry // a ring: entries[next] is the oldest once full
	next    int
	full    bool
	seq     uint64
}

// New returns a journal that keeps the last capacity entries (at least 1).
func New(capacity int) *Journal {
	return &Journal{entries: make([]Entry, max(capacity, 1))}
}

// Add records e, giving it the next id, and returns that id.
func (j *Journal) Add(e Entry) uint64 {
	e.RequestBody, e.ResponseBody = cut(e.RequestBody), cut(e.ResponseBody)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.ID = j.seq
	j.entries[j.next] = e
	j.next++
	if j.next == len(j.entries) {
		j.next, j.full = 0, true
	}
	return e.ID
}

// List returns the matching entries, newest first, without their headers and bodies.
func (j *Journal) List(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := []Entry{}
	for i := range j.len() {
		e := j.at(i)
		if f.VehicleID != "" && e.VehicleID != f.VehicleID || f.Path != "" && !strings.Contains(e.Path, f.Path) {
			continue
		}
		e.RequestHeaders, e.ResponseHeaders, e.RequestBody, e.ResponseBody = nil, nil, "", ""
		out = append(out, e)
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
	}
	return out
}

// Get returns the entry with that id, headers and bodies included, while it is still
// kept.
func (j *Journal) Get(id uint64) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := range j.len() {
		if e := j.at(i); e.ID == id {
			return e.redacted(), true
		}
	}
	return Entry{}, false
}

// Clear forgets every entry (ids keep counting up).
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.entries)
	j.next, j.full = 0, false
}

// All returns every entry, oldest first, bodies included (for a snapshot).
func (j *Journal) All() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Entry, 0, j.len())
	for i := j.len() - 1; i >= 0; i-- {
		out = append(out, j.at(i).redacted())
	}
	return out
}

// Restore replaces the entries with es (oldest first, as All gives them).
func (j *Journal) Restore(es []Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.entries)
	j.next, j.full = 0, false
	if n := len(es) - len(j.entries); n > 0 {
		es = es[n:]
	}
	for _, e := range es {
		j.entries[j.next] = e
		j.seq = max(j.seq, e.ID)
		j.next++
		if j.next == len(j.entries) {
			j.next, j.full = 0, true
		}
	}
}

func (j *Journal) len() int {
	if j.full {
		return len(j.entries)
	}
	return j.next
}

// at is the i-th newest entry.
func (j *Journal) at(i int) Entry {
	k := j.next - 1 - i
	if k < 0 {
		k += len(j.entries)
	}
	return j.entries[k]
}

func cut(s string) string { return cutAt(s, MaxBody) }

func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(cut)"
}

// secretKeys are the names whose values never reach the journal.
var secretKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "client_secret": true, "code": true,
	"accessToken": true, "refreshToken": true, "clientSecret": true, "password": true,
}

// jsonSecret finds "key": "value" pairs of secret keys in a JSON body.
var jsonSecret = regexp.MustCompile(`"(access_token|refresh_token|client_secret|code|accessToken|refreshToken|clientSecret|password)"\s*:\s*"(?:[^"\\]|\\.)*"`)

// Redact returns body with every token, code, secret and password replaced by
// "[REDACTED]": JSON bodies by key, form bodies by field.
func Redact(contentType string, body []byte) string {
	s := string(body)
	if strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		vals, err := url.ParseQuery(s)
		if err != nil {
			return "[unreadable form body]"
		}
		for k := range vals {
			if secretKeys[k] {
				vals[k] = []string{"[REDACTED]"}
			}
		}
		return vals.Encode()
	}
	return jsonSecret.ReplaceAllString(s, `"$1":"[REDACTED]"`)
}

// secretHeaders are the headers whose values never reach the journal;
// Authorization and Proxy-Authorization keep their scheme ("Basic [REDACTED]"), and a
// bearer token its last four characters.
var secretHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true, "x-sandbox-admin-token": true,
}

// bearerShown is how many of a bearer token's last characters the journal shows:
// enough to tell which of a test's tokens was sent, too few to use one. Tokens
// shorter than minBearerShown stay wholly redacted.
const bearerShown, minBearerShown = 4, 12

// RedactHeaders returns the headers by lower-case name, several values joined with
// ", " and each cut to 1 KB, with credentials replaced by "[REDACTED]" (a bearer
// token by "…" and its last four characters, "Bearer …3f9a"). It returns nil for no
// headers.
func RedactHeaders(h http.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 {
			continue // a canonical key emptied beside its lower-case twin (the sandbox's writeJSON)
		}
		name := strings.ToLower(k)
		v := strings.Join(vs, ", ")
		if secretHeaders[name] {
			v = redactCredential(name, v)
		}
		if prev, ok := out[name]; ok {
			v = prev + ", " + v
		}
		out[name] = cutAt(v, maxHeader)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func redactCredential(name, v string) string {
	if name != "authorization" && name != "proxy-authorization" {
		return "[REDACTED]"
	}
	scheme, cred, found := strings.Cut(v, " ")
	if !found {
		return "[REDACTED]"
	}
	cred = strings.TrimSpace(cred)
	if strings.EqualFold(scheme, "Bearer") && len(cred) >= minBearerShown && !strings.ContainsAny(cred, " ,") {
		return scheme + " …" + cred[len(cred)-bearerShown:]
	}
	return scheme + " [REDACTED]"
}
