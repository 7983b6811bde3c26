package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// microResult is one Go benchmark, medians over -count runs.
type microResult struct {
	Pkg, Name   string
	NsPerOp     float64
	BytesPerOp  float64
	AllocsPerOp float64
	// StoreNs is the median time per request spent in the store (the store-ns/median
	// metric of BenchmarkStoreTime), 0 for other benchmarks.
	StoreNs float64
	// Metrics are the medians of the benchmark's other reported metrics, by unit
	// (events/s, upstream-calls/op).
	Metrics map[string]float64
	Runs    int
}

// microPackages hold the *_bench_test.go files of this project.
var microPackages = []string{"./internal/web", "./internal/page", "./internal/sandbox", "./internal/store"}

// runMicro runs the Go micro-benchmarks of each package separately, so that one package
// that does not compile (others may be mid-edit) does not hide the rest.
func runMicro(ctx context.Context, root string, benchtime string, count int) ([]microResult, []string) {
	var all []microResult
	var problems []string
	for _, pkg := range microPackages {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		out, err := runCmd(ctx, root, os.Environ(), "go", "test", "-run", "^$", "-bench", ".", "-benchmem",
			"-benchtime", benchtime, "-count", strconv.Itoa(count), pkg)
		cancel()
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s", pkg, firstLines(err.Error(), 6)))
			continue
		}
		res := parseBench(out)
		if len(res) == 0 {
			problems = append(problems, pkg+": no benchmarks")
		}
		all = append(all, res...)
	}
	return all, problems
}

// parseBench reads `go test -bench -benchmem` output and returns the median of each
// benchmark over its repeated runs, in order of first appearance.
func parseBench(out string) []microResult {
	type acc struct {
		pkg                  string
		ns, b, allocs, store []float64
		other                map[string][]float64
	}
	byName := map[string]*acc{}
	var order []string
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		name := f[0]
		// Drop the -GOMAXPROCS suffix.
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		a := byName[pkg+" "+name]
		if a == nil {
			a = &acc{pkg: pkg, other: map[string][]float64{}}
			byName[pkg+" "+name] = a
			order = append(order, pkg+" "+name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				a.ns = append(a.ns, v)
			case "B/op":
				a.b = append(a.b, v)
			case "allocs/op":
				a.allocs = append(a.allocs, v)
			case "store-ns/median":
				a.store = append(a.store, v)
			default:
				a.other[f[i+1]] = append(a.other[f[i+1]], v)
			}
		}
	}
	var res []microResult
	for _, k := range order {
		a := byName[k]
		_, name, _ := strings.Cut(k, " ")
		var metrics map[string]float64
		for unit, vs := range a.other {
			if metrics == nil {
				metrics = map[string]float64{}
			}
			metrics[unit] = median(vs)
		}
		res = append(res, microResult{Pkg: a.pkg, Name: name, NsPerOp: median(a.ns), BytesPerOp: median(a.b), AllocsPerOp: median(a.allocs),
			StoreNs: median(a.store), Metrics: metrics, Runs: len(a.ns)})
	}
	slices.SortStableFunc(res, func(x, y microResult) int { return strings.Compare(x.Pkg, y.Pkg) })
	return res
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return strings.Join(lines, " / ")
}
