package smartcar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxRetryAfter is the longest retry-after a rate-limited (429) answer may ask
// for and still be retried, once, when Client.MaxRetryAfter is zero.
const DefaultMaxRetryAfter = 3 * time.Second

// apiVersion is the REST API version this package speaks.
const apiVersion = "v2.0"

// maxBody bounds how much of an answer is read, so that a broken server cannot
// exhaust memory.
const maxBody = 10 << 20

// ErrTimeout is wrapped by the error of a request (API call, code exchange or token
// refresh) that did not complete in time: cut by the *http.Client's Timeout or by
// the deadline of the request's context.
// Check it with errors.Is(err, smartcar.ErrTimeout); when a ctx deadline was the
// cause, errors.Is(err, context.DeadlineExceeded) also holds.
var ErrTimeout = errors.New("smartcar: request timed out")

// Client calls Smartcar's REST API v2.0. It is safe for concurrent use; set its
// fields before the first call.
type Client struct {
	// MaxRetryAfter is the longest delay a 429 answer's retry-after header may ask
	// for and still be retried (once, waiting that long unless ctx ends first).
	// Longer delays, and 429s without retry-after, are returned as an *Error at
	// once. Zero means DefaultMaxRetryAfter; negative disables the retry.
	MaxRetryAfter time.Duration

	hc     *http.Client
	origin string
	// wait pauses before a retry; tests replace it to avoid real delays.
	wait func(ctx context.Context, d time.Duration) error
}

// NewClient returns a client for the API at apiOrigin (scheme://host[:port], such as
// "https://api.smartcar.com"). hc must authorise the requests itself, for example a
// client from oauth2.NewClient or Config.Client; hc's Timeout bounds each request.
func NewClient(hc *http.Client, apiOrigin string) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{
		hc:     hc,
		origin: strings.TrimRight(apiOrigin, "/"),
		wait:   sleepCtx,
	}
}

// UnitSystem is the unit system of measurements: metric (km, L, kPa) or imperial
// (mi, US gal, psi).
type UnitSystem string

// Unit systems.
const (
	Metric   UnitSystem = "metric"
	Imperial UnitSystem = "imperial"
)

// Meta is the metadata Smartcar returns with each result, from the response headers.
type Meta struct {
	// RequestID identifies the request (sc-request-id) for Smartcar support.
	RequestID string
	// DataAge is when the vehicle recorded the data (sc-data-age); zero if unknown.
	DataAge time.Time
	// FetchedAt is when Smartcar fetched the data from the manufacturer
	// (sc-fetched-at); zero if unknown.
	FetchedAt time.Time
	// UnitSystem is the unit system of the values (sc-unit-system).
	UnitSystem UnitSystem
}

// metaFrom reads Meta from response headers; lookups ignore case.
func metaFrom(h http.Header) Meta {
	return Meta{
		RequestID:  headerValue(h, "sc-request-id"),
		DataAge:    parseTime(headerValue(h, "sc-data-age")),
		FetchedAt:  parseTime(headerValue(h, "sc-fetched-at")),
		UnitSystem: UnitSystem(headerValue(h, "sc-unit-system")),
	}
}

// parseTime reads an ISO-8601 time such as 2024-05-01T10:00:00.000Z; anything else
// gives the zero time rather than failing the whole call.
func parseTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}

// RequestOption is a per-call setting of a Client method.
type RequestOption interface {
	applyRequest(*requestConfig)
}

type requestConfig struct {
	units    UnitSystem
	flags    map[string]string
	header   http.Header
	userID   string // sc-user-id (API v3)
	pageSize int    // pageSize of a v3 signal list
}

type requestOptionFunc func(*requestConfig)

func (f requestOptionFunc) applyRequest(c *requestConfig) { f(c) }

// Units asks for values in unit system u (request header sc-unit-system). Without
// it Smartcar answers in metric.
func Units(u UnitSystem) RequestOption {
	return requestOptionFunc(func(c *requestConfig) { c.units = u })
}

// RequestFlags sends feature flags with the call as flags=k:v k:v (keys sorted),
// as the official SDKs do for a vehicle created with flags.
func RequestFlags(flags map[string]string) RequestOption {
	return requestOptionFunc(func(c *requestConfig) { c.flags = flags })
}

// WithHeader adds a request header to the call, for example an Authorization header
// that overrides the client's own (unsubscribing from a webhook needs the
// application management token).
func WithHeader(key, value string) RequestOption {
	return requestOptionFunc(func(c *requestConfig) {
		if c.header == nil {
			c.header = http.Header{}
		}
		c.header.Add(key, value)
	})
}

// UserID names the user a v3 call acts for (request header sc-user-id): the
// user_id of Connect's redirect. Calls authorised by the application token
// (Config.AppTokenSource) need it; with a user's Connect token it may be left out,
// and if sent must be that token's user.
func UserID(id string) RequestOption {
	return requestOptionFunc(func(c *requestConfig) { c.userID = id })
}

// PageSize sets how many signals one page of V3Client.Signals and AllSignals asks
// for (query pageSize); without it they ask for DefaultSignalPageSize. Other calls
// ignore it.
func PageSize(n int) RequestOption {
	return requestOptionFunc(func(c *requestConfig) { c.pageSize = n })
}

// call describes one API request.
type call struct {
	method string
	path   string // under the origin, such as /v2.0/user
	query  url.Values
	body   any // JSON-encoded when non-nil
	opts   []RequestOption
	// header, when non-nil, receives the headers of a successful answer.
	header *http.Header
	// status, when non-nil, receives the status of a successful answer.
	status *int
	// v3 marks a call of API v3, whose errors may say that the application is not
	// enabled for v3 (ErrV3NotEnabled).
	v3 bool
}

// do performs c, retries one short 429, and decodes a 2xx body into out (when out
// is non-nil). Any other status is an *Error.
func (c *Client) do(ctx context.Context, cl call, out any) (Meta, error) {
	var rc requestConfig
	for _, o := range cl.opts {
		o.applyRequest(&rc)
	}
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return Meta{}, fmt.Errorf("smartcar: %s %s: encoding request: %w", cl.method, cl.path, err)
		}
	}
	q := url.Values{}
	for k, v := range cl.query {
		q[k] = v
	}
	if f := encodeFlags(rc.flags); f != "" {
		q.Set("flags", f)
	}
	u := c.origin + cl.path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}

	for attempt := 0; ; attempt++ {
		status, header, body, err := c.send(ctx, cl.method, u, payload, rc)
		if err != nil {
			return Meta{}, c.transportError(cl, err)
		}
		meta := metaFrom(header)
		if status >= 200 && status < 300 {
			if cl.header != nil {
				*cl.header = header
			}
			if cl.status != nil {
				*cl.status = status
			}
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return meta, fmt.Errorf("smartcar: %s %s: decoding response: %w", cl.method, cl.path, err)
				}
			}
			return meta, nil
		}
		scErr := decodeError(status, header, body)
		if cl.v3 {
			scErr.markV3NotEnabled()
		}
		if status == http.StatusTooManyRequests && attempt == 0 && c.retryable(header, scErr.RetryAfter) {
			if err := c.wait(ctx, scErr.RetryAfter); err != nil {
				// The caller gave up while we waited: report the 429 they got.
				return meta, scErr
			}
			continue
		}
		return meta, scErr
	}
}

func (c *Client) retryable(h http.Header, d time.Duration) bool {
	limit := c.MaxRetryAfter
	if limit == 0 {
		limit = DefaultMaxRetryAfter
	}
	return limit > 0 && headerValue(h, "retry-after") != "" && d <= limit
}

// send performs one HTTP exchange and reads the whole (bounded) body.
func (c *Client) send(ctx context.Context, method, u string, payload []byte, rc requestConfig) (int, http.Header, []byte, error) {
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "smartcargo (Go)")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if rc.units != "" {
		// Smartcar documents its headers in lower case; set the key as is.
		req.Header["sc-unit-system"] = []string{string(rc.units)}
	}
	if rc.userID != "" {
		req.Header["sc-user-id"] = []string{rc.userID}
	}
	for k, vs := range rc.header {
		req.Header[k] = vs
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, b, nil
}

// transportError makes a failed exchange recognisable: a token refresh refusal
// comes back as the *Error itself, a timeout wraps ErrTimeout.
func (c *Client) transportError(cl call, err error) error {
	var scErr *Error
	if errors.As(err, &scErr) {
		return scErr
	}
	if isTimeout(err) {
		return fmt.Errorf("%w: %s %s: %w", ErrTimeout, cl.method, cl.path, err)
	}
	return fmt.Errorf("smartcar: %s %s: %w", cl.method, cl.path, err)
}

// isTimeout reports whether err comes from a deadline: the ctx's or the
// *http.Client's Timeout (a net.Error whose Timeout method says so).
func isTimeout(err error) bool {
	if errors.Is(err, ErrTimeout) {
		return false // already wrapped
	}
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout())
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// vehiclePath returns /v2.0/vehicles/{id}{sub}.
func vehiclePath(vehicleID, sub string) (string, error) {
	if vehicleID == "" {
		return "", errors.New("smartcar: empty vehicle id")
	}
	return "/" + apiVersion + "/vehicles/" + url.PathEscape(vehicleID) + sub, nil
}

// Paging locates a page within a list.
type Paging struct {
	// Count is the total number of items, across all pages.
	Count int `json:"count"`
	// Offset is the index of this page's first item.
	Offset int `json:"offset"`
}

// VehiclePage is one page of the user's vehicle ids.
type VehiclePage struct {
	VehicleIDs []string // ids of this page's vehicles
	Paging     Paging   // where the page lies in the whole list
	Meta       Meta     // metadata of the response
}

// vehiclePageSize is the page size VehicleIDs asks for. Should the server cap it
// lower, VehicleIDs still follows the pages it gets.
const vehiclePageSize = 50

// Vehicles reads one page of the ids of the vehicles the token may access:
// GET /v2.0/vehicles?limit&offset. A limit of 0 or less leaves the page size to
// Smartcar.
func (c *Client) Vehicles(ctx context.Context, limit, offset int, opts ...RequestOption) (*VehiclePage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	var body struct {
		Vehicles []string `json:"vehicles"`
		Paging   Paging   `json:"paging"`
	}
	meta, err := c.do(ctx, call{method: http.MethodGet, path: "/" + apiVersion + "/vehicles", query: q, opts: opts}, &body)
	if err != nil {
		return nil, err
	}
	return &VehiclePage{VehicleIDs: body.Vehicles, Paging: body.Paging, Meta: meta}, nil
}

// VehicleIDs lists the ids of all the vehicles the token may access, following the
// pages until paging.count ids are read. It stops early, returning what it has, when
// a page brings no new id, so a server that never advances cannot make it loop.
func (c *Client) VehicleIDs(ctx context.Context, opts ...RequestOption) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for offset := 0; ; {
		page, err := c.Vehicles(ctx, vehiclePageSize, offset, opts...)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, id := range page.VehicleIDs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
				added++
			}
		}
		offset += len(page.VehicleIDs)
		if added == 0 || len(ids) >= page.Paging.Count {
			return ids, nil
		}
	}
}

// User is the Smartcar user who granted access.
type User struct {
	ID   string `json:"id"` // Smartcar's id of the user
	Meta Meta   `json:"-"`  // metadata of the response
}

// User returns the id of the user who granted the token: GET /v2.0/user.
func (c *Client) User(ctx context.Context, opts ...RequestOption) (*User, error) {
	var u User
	meta, err := c.do(ctx, call{method: http.MethodGet, path: "/" + apiVersion + "/user", opts: opts}, &u)
	if err != nil {
		return nil, err
	}
	u.Meta = meta
	return &u, nil
}

// Attributes describes a vehicle.
type Attributes struct {
	ID    string `json:"id"`    // the vehicle id
	Make  string `json:"make"`  // brand in upper case, such as "CHEVROLET"
	Model string `json:"model"` // such as "Volt"
	Year  int    `json:"year"`  // model year
	Meta  Meta   `json:"-"`     // metadata of the response
}

// Attributes returns a vehicle's id, make, model and year: GET /v2.0/vehicles/{id}
// (permission read_vehicle_info).
func (c *Client) Attributes(ctx context.Context, vehicleID string, opts ...RequestOption) (*Attributes, error) {
	return getVehicle[Attributes](ctx, c, vehicleID, "", nil, opts)
}
