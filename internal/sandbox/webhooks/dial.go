package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// The sender calls back only to this machine unless told otherwise: every address is
// checked when the connection is dialed, after name resolution, so that a name that
// resolves elsewhere (or is rebound between checks) cannot take a delivery off the
// machine. Redirects are never followed and no proxy is used.

// ErrRefused is the error of a callback the allow-list does not cover.
var ErrRefused = errors.New("webhooks: callback address not allowed")

// RefusedError names the address a callback was refused at, before any packet was
// sent to it.
type RefusedError struct {
	Host string     // the callback URL's host
	Addr netip.Addr // the address it resolved to
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("webhooks: refused to call %s (%s): only loopback addresses are called back unless the sandbox is started with --webhook-allow", e.Host, e.Addr)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// allowList is loopback plus the hosts and networks of Options.Allow.
type allowList struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
}

// parseAllow reads host names, IP addresses and CIDR prefixes.
func parseAllow(entries []string) (allowList, error) {
	a := allowList{hosts: map[string]bool{}}
	var errs []error
	for _, raw := range entries {
		e := strings.ToLower(strings.TrimSpace(raw))
		switch {
		case e == "":
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				errs = append(errs, fmt.Errorf("webhooks: allow %q: not a CIDR prefix such as 10.0.0.0/8", raw))
				continue
			}
			a.prefixes = append(a.prefixes, p.Masked())
		default:
			if ip, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if !validHost(e) {
				errs = append(errs, fmt.Errorf("webhooks: allow %q: not a host name, IP address or CIDR prefix", raw))
				continue
			}
			a.hosts[strings.TrimSuffix(e, ".")] = true
		}
	}
	return a, errors.Join(errs...)
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// allows reports whether a callback to host may connect to addr.
func (a allowList) allows(host string, addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() || a.hosts[strings.TrimSuffix(strings.ToLower(host), ".")] {
		return true
	}
	for _, p := range a.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// literal checks a callback whose host is an IP address before anything is queued;
// names wait for the dial.
func (a allowList) literal(host string) error {
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil || a.allows(host, ip) {
		return nil
	}
	return &RefusedError{Host: host, Addr: ip}
}

// dialContext dials addr (host:port) and refuses, in the dialer's Control hook that
// runs before connect(2), any resolved address the list does not allow.
func (a allowList) dialContext(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		d := net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
			h, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip, err := netip.ParseAddr(h)
			if err != nil {
				return err
			}
			if !a.allows(host, ip) {
				return &RefusedError{Host: host, Addr: ip}
			}
			return nil
		}}
		return d.DialContext(ctx, network, addr)
	}
}

// newClient is the sender's HTTP client: the allow-list's dialer, no proxy, no
// redirects, each attempt bounded by timeout.
func newClient(a allowList, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil, // never through a proxy: it would carry the call off the machine
			DialContext:           a.dialContext(timeout),
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       30 * time.Second,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
