// vsock-load: a neutral load generator for the benchmark suite, not the project's client: raw keep-alive
// HTTP/1.1 GETs over vsock, TCP or a Unix socket, one goroutine per connection. Every round measures every
// target in a rotated order and prints one JSON line per target and round (benchmarks/peers/README.md).
//
//	vsock-load --targets kestrel=vsock://1:5000,hyper=vsock://1:5300 --connections 16 --duration 4 --rounds 3
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/vsock"
)

type target struct{ name, address string }

func dial(address string) (net.Conn, error) {
	switch {
	case strings.HasPrefix(address, "vsock://"):
		// The machine this is built on routes every CID to a hypervisor host that is not ours: connect only
		// where vsock_loopback is loaded (the sandbox VM), as the project's tests do.
		if _, err := os.Stat("/sys/module/vsock_loopback"); err != nil {
			return nil, errors.New("vsock-load: no vsock_loopback module here; run it inside eng/vsock-sandbox")
		}
		parts := strings.SplitN(strings.TrimPrefix(address, "vsock://"), ":", 2)
		if len(parts) != 2 {
			return nil, fmt.Errorf("vsock-load: %q: expected vsock://CID:PORT", address)
		}
		cid, err1 := strconv.ParseUint(parts[0], 10, 32)
		port, err2 := strconv.ParseUint(parts[1], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("vsock-load: %q: expected vsock://CID:PORT", address)
		}
		return vsock.Dial(uint32(cid), uint32(port), nil)
	case strings.HasPrefix(address, "tcp://"):
		return net.Dial("tcp", strings.TrimPrefix(address, "tcp://"))
	case strings.HasPrefix(address, "unix:"):
		return net.Dial("unix", strings.TrimPrefix(address, "unix:"))
	}
	return nil, fmt.Errorf("vsock-load: %q: expected vsock://CID:PORT, tcp://HOST:PORT or unix:/path", address)
}

// worker is one keep-alive connection sending the same request again as soon as the response is read.
type worker struct {
	conn      net.Conn
	reader    *bufio.Reader
	request   []byte
	latencies []time.Duration
}

func (w *worker) roundTrip() error {
	if _, err := w.conn.Write(w.request); err != nil {
		return err
	}
	status, err := w.reader.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200")) {
		return fmt.Errorf("status %q", strings.TrimSpace(string(status)))
	}
	length := int64(-1)
	for {
		line, err := w.reader.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if i := bytes.IndexByte(line, ':'); i > 0 && strings.EqualFold(string(line[:i]), "content-length") {
			length, err = strconv.ParseInt(string(bytes.TrimSpace(line[i+1:])), 10, 64)
			if err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return errors.New("response without Content-Length")
	}
	_, err = w.reader.Discard(int(length))
	return err
}

type counters struct{ busyMs, switches float64 }

// readCounters is machine-wide CPU time and context switches (/proc/stat), as the .NET load generator reads them.
func readCounters() counters {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return counters{}
	}
	var c counters
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && fields[0] == "cpu" {
			var total float64
			for i, f := range fields[1:] {
				v, _ := strconv.ParseFloat(f, 64)
				if i != 3 && i != 4 { // idle, iowait
					total += v
				}
			}
			c.busyMs = total * 10 // USER_HZ = 100
		}
		if len(fields) == 2 && fields[0] == "ctxt" {
			c.switches, _ = strconv.ParseFloat(fields[1], 64)
		}
	}
	return c
}

func measure(t target, path string, connections int, warmup, duration time.Duration) (map[string]any, error) {
	request := []byte("GET " + path + " HTTP/1.1\r\nHost: bench\r\n\r\n")
	workers := make([]*worker, connections)
	for i := range workers {
		conn, err := dial(t.address)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		workers[i] = &worker{conn: conn, reader: bufio.NewReaderSize(conn, 64*1024), request: request}
	}
	var count, failures int64
	var firstError atomic.Value
	run := func(d time.Duration, record bool) time.Duration {
		start := time.Now()
		deadline := start.Add(d)
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func(w *worker) {
				defer wg.Done()
				for time.Now().Before(deadline) {
					begin := time.Now()
					if err := w.roundTrip(); err != nil {
						atomic.AddInt64(&failures, 1)
						firstError.CompareAndSwap(nil, err.Error())
						return // the connection's framing is lost
					}
					if record {
						atomic.AddInt64(&count, 1)
						w.latencies = append(w.latencies, time.Since(begin))
					}
				}
			}(w)
		}
		wg.Wait()
		return time.Since(start)
	}
	run(warmup, false)
	before := readCounters()
	elapsed := run(duration, true)
	after := readCounters()
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.latencies...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	percentile := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)))
		if i >= len(all) {
			i = len(all) - 1
		}
		return float64(all[i].Microseconds()) / 1000
	}
	perRequest := func(v float64) float64 {
		if count == 0 {
			return 0
		}
		return float64(int(v/float64(count)*1000+0.5)) / 1000
	}
	result := map[string]any{
		"peer":                      t.name,
		"target":                    t.address,
		"path":                      path,
		"connections":               connections,
		"requests":                  count,
		"errors":                    failures,
		"rps":                       float64(int(float64(count)/elapsed.Seconds()*10)) / 10,
		"p50ms":                     percentile(0.50),
		"p99ms":                     percentile(0.99),
		"cpuMsPerRequest":           perRequest(after.busyMs - before.busyMs),
		"contextSwitchesPerRequest": perRequest(after.switches - before.switches),
	}
	if e := firstError.Load(); e != nil {
		result["firstError"] = e
	}
	return result, nil
}

func main() {
	targetsFlag := flag.String("targets", "", "NAME=ADDRESS,... with ADDRESS vsock://CID:PORT, tcp://HOST:PORT or unix:/path")
	path := flag.String("path", "/plaintext", "request path")
	connections := flag.Int("connections", 16, "keep-alive connections, one goroutine each")
	duration := flag.Float64("duration", 4, "seconds measured per target and round")
	warmup := flag.Float64("warmup", 1, "seconds of load before each measurement")
	rounds := flag.Int("rounds", 3, "rounds; each starts one target further along")
	label := flag.String("label", "peers", "label of the JSON lines")
	flag.Parse()
	var targets []target
	for _, item := range strings.Split(*targetsFlag, ",") {
		name, address, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "vsock-load: --targets %q: expected NAME=ADDRESS\n", item)
			os.Exit(2)
		}
		targets = append(targets, target{name, address})
	}
	out := json.NewEncoder(os.Stdout)
	failed := false
	for round := 0; round < *rounds; round++ {
		for k := range targets {
			t := targets[(k+round)%len(targets)]
			result, err := measure(t, *path, *connections, time.Duration(*warmup*float64(time.Second)), time.Duration(*duration*float64(time.Second)))
			if err != nil {
				fmt.Fprintf(os.Stderr, "vsock-load: %s (%s): %v\n", t.name, t.address, err)
				os.Exit(1)
			}
			result["label"] = *label
			result["round"] = round
			failed = failed || result["errors"].(int64) != 0
			out.Encode(result)
		}
	}
	if failed {
		os.Exit(1)
	}
	_ = io.EOF
}
