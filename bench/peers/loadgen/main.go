// A constant-rate HTTP load generator (open loop, in the manner of wrk2):
// request i is due at start + i/rate whatever happened to the ones before,
// and its latency is counted from when it was due if every worker was busy
// then, so a stalled server shows as latency instead of hiding as a lower
// request rate (no coordinated omission). A worker that was idle sleeps
// until the request is due and counts from when it woke: the sleep's own
// overshoot (up to a millisecond of timer slack) is the load generator's,
// not the server's. Prints one JSON summary line.
//
// Usage: loadgen -url http://127.0.0.1:8080/ -rate 5000 -duration 10s -conns 32
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type summary struct {
	Rate      float64 `json:"rate"`
	DurationS float64 `json:"durationSeconds"`
	Sent      int64   `json:"sent"`
	OK        int64   `json:"ok"`
	Errors    int64   `json:"errors"`
	Achieved  float64 `json:"achievedRate"`
	P50us     float64 `json:"p50us"`
	P90us     float64 `json:"p90us"`
	P99us     float64 `json:"p99us"`
	P999us    float64 `json:"p999us"`
	MaxUs     float64 `json:"maxUs"`
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8080/", "target URL")
	rate := flag.Float64("rate", 1000, "requests per second")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 32, "connections (and workers)")
	insecure := flag.Bool("insecure", false, "https: accept the server's self-signed certificate (loopback benchmarks)")
	flag.Parse()

	tr := &http.Transport{MaxIdleConns: *conns, MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, DisableCompression: true,
		// HTTP/1.1 over TLS too: the servers are compared with their plaintext rows.
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: *insecure}}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	total := int64(*rate * duration.Seconds())
	due := make(chan time.Time, total)
	lat := make([]float64, 0, total)
	var mu sync.Mutex
	var ok, errs int64
	var wg sync.WaitGroup

	start := time.Now().Add(50 * time.Millisecond)
	for w := 0; w < *conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]float64, 0, total/int64(*conns)+1)
			for t := range due {
				from := t
				if d := time.Until(t); d > 0 {
					time.Sleep(d)
					from = time.Now()
				}
				resp, err := client.Get(*url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode >= 500 {
					atomic.AddInt64(&errs, 1)
					continue
				}
				atomic.AddInt64(&ok, 1)
				local = append(local, float64(time.Since(from).Nanoseconds())/1e3)
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	interval := float64(time.Second) / *rate
	for i := int64(0); i < total; i++ {
		due <- start.Add(time.Duration(float64(i) * interval))
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	sort.Float64s(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p * float64(len(lat)-1))
		return lat[i]
	}
	s := summary{
		Rate: *rate, DurationS: elapsed, Sent: total, OK: ok, Errors: errs,
		Achieved: float64(ok) / elapsed,
		P50us:    pct(0.50), P90us: pct(0.90), P99us: pct(0.99), P999us: pct(0.999),
	}
	if len(lat) > 0 {
		s.MaxUs = lat[len(lat)-1]
	}
	_ = json.NewEncoder(os.Stdout).Encode(s)
}
