package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"smartcargo/internal/connectwalk"
)

// simIdle is the sandbox with many simulated vehicles, doing nothing.
type simIdle struct {
	Vehicles int
	// Connects is how many Connect flows created them, and how long that took.
	Connects int
	Took     time.Duration
	// Before and After are VmRSS with no vehicle and with them all; HWM the peak.
	Before, After, HWM int64
	// CPU is the share of one core the process used while idle for Idle.
	CPU  float64
	Idle time.Duration
}

// simTargetVehicles is how many simulated vehicles the idle figure is for.
const simTargetVehicles = 10000

// benchSimIdle connects simTargetVehicles simulated vehicles to a fresh cmd/sandbox
// (999 per Connect flow, one brand per flow: the same login and brand give the same
// vehicles) and measures its memory and, over a quiet spell, its CPU: nothing ticks
// the simulations, so an idle sandbox should use next to none.
func (b *bench) benchSimIdle(ctx context.Context, _ string) error {
	sb, err := b.startSandbox(ctx, "sandbox-sim", 0, directRedirect)
	if err != nil {
		return err
	}
	pid := sb.cmd.Process.Pid
	before, err := readMem(pid)
	if err != nil {
		return err
	}
	r := &b.rep.SimIdle
	r.Before = before.RSS
	start := time.Now()
	brands := []string{"TESLA", "FORD", "BMW", "AUDI", "KIA", "NISSAN", "TOYOTA", "HONDA", "VOLVO", "RIVIAN", "MAZDA"}
	for i := 0; r.Vehicles < simTargetVehicles; i++ {
		if i == len(brands) {
			return fmt.Errorf("ran out of brands at %d vehicles", r.Vehicles)
		}
		n := min(999, simTargetVehicles-r.Vehicles)
		q := url.Values{"response_type": {"code"}, "client_id": {benchClientID}, "redirect_uri": {directRedirect},
			"scope": {"read_vehicle_info read_odometer"}, "mode": {"simulated"}, "state": {"sim"}, "make": {brands[i]}}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		back, err := connectwalk.Walk(cctx, newBrowser().client, sb.URL+"/oauth/authorize?"+q.Encode(),
			connectwalk.Options{Email: strconv.Itoa(n) + "-vehicles@smartcar.com"})
		cancel()
		if err != nil {
			return fmt.Errorf("connect %d: %w", i+1, err)
		}
		if back.Query().Get("code") == "" {
			return fmt.Errorf("connect %d ended without a code: %s", i+1, back.Redacted())
		}
		r.Vehicles += n
		r.Connects++
	}
	r.Took = time.Since(start)
	// Count them as the control API lists them, rather than trust the flows.
	var list struct {
		Vehicles []struct {
			Mode string `json:"mode"`
		} `json:"vehicles"`
	}
	if _, raw, err := apiGet(ctx, sb.URL+"/__sandbox/api/vehicles", ""); err != nil {
		return err
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("control API vehicles: %w", err)
	}
	simulated := 0
	for _, v := range list.Vehicles {
		if v.Mode == "simulated" {
			simulated++
		}
	}
	if simulated != r.Vehicles {
		return fmt.Errorf("the control API lists %d simulated vehicles, want %d", simulated, r.Vehicles)
	}
	// Let the garbage of the Connect pages be collected (the runtime returns it over
	// a few minutes at most; the figure is RSS after a short quiet spell).
	t0, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	r.Idle = 10 * time.Second
	if b.o.Quick {
		r.Idle = 3 * time.Second
	}
	select {
	case <-time.After(r.Idle):
	case <-ctx.Done():
		return ctx.Err()
	}
	t1, err := cpuTicks(pid)
	if err != nil {
		return err
	}
	r.CPU = float64(t1-t0) / clockTicks / r.Idle.Seconds()
	after, err := readMem(pid)
	if err != nil {
		return err
	}
	r.After, r.HWM = after.RSS, after.HWM
	b.logf("sim idle: %d vehicles in %d flows (%s), RSS %s → %s (HWM %s), idle CPU %.2f%% of a core",
		r.Vehicles, r.Connects, r.Took.Round(time.Millisecond), mb(r.Before), mb(r.After), mb(r.HWM), r.CPU*100)
	return nil
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times (100 on
// every Linux the Go runtime supports).
const clockTicks = 100

// cpuTicks is the user plus system time of pid so far, in clock ticks.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from
	// after its closing parenthesis, where field 3 begins.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unreadable", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	return utime + stime, nil
}
