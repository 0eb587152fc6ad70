// grpc-go-loadgen: unary grpc.examples.echo.Echo/UnaryEcho calls for the
// benchmark (npm run bench), on -conns connections, and one JSON line:
// {"achievedRate":..,"ok":..,"errors":..,"p50us":..,"p99us":..}.
//
// -rate R: R calls per second, each due at its own time, its latency counted
// from when it was due (wrk2-style: a slow server cannot hide its queueing).
// -rate 0: closed loop, -workers calls in flight at all times (saturation).
//
// Usage: grpc-go-loadgen -target HOST:PORT [-rate R] [-duration 10s] [-conns 4] [-workers 64]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pb "google.golang.org/grpc/examples/features/proto/echo"
)

type summary struct {
	AchievedRate float64 `json:"achievedRate"`
	OK           int64   `json:"ok"`
	Errors       int64   `json:"errors"`
	P50us        float64 `json:"p50us"`
	P99us        float64 `json:"p99us"`
}

// recorder keeps every latency: a run is at most a few hundred thousand calls.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	ok, errs  atomic.Int64
}

func (r *recorder) add(d time.Duration, err error) {
	if err != nil {
		r.errs.Add(1)
		return
	}
	r.ok.Add(1)
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

func (r *recorder) quantile(q float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q * float64(len(r.latencies)-1))
	return float64(r.latencies[i].Microseconds())
}

func main() {
	target := flag.String("target", "", "HOST:PORT of an Echo server")
	rate := flag.Int("rate", 0, "calls per second; 0: closed loop")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	conns := flag.Int("conns", 4, "connections (calls are spread over them)")
	workers := flag.Int("workers", 64, "calls in flight (closed loop), or senders at most (fixed rate)")
	flag.Parse()
	if *target == "" || *conns < 1 || *workers < 1 || *rate < 0 {
		fmt.Fprintln(os.Stderr, "usage: grpc-go-loadgen -target HOST:PORT [-rate R] [-duration 10s] [-conns 4] [-workers 64]")
		os.Exit(2)
	}
	clients := make([]pb.EchoClient, *conns)
	for i := range clients {
		cc, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpc-go-loadgen:", err)
			os.Exit(1)
		}
		defer cc.Close()
		clients[i] = pb.NewEchoClient(cc)
		// One call first, so every connection is up before timing starts.
		if _, err := clients[i].UnaryEcho(context.Background(), &pb.EchoRequest{Message: "warm"}); err != nil {
			fmt.Fprintln(os.Stderr, "grpc-go-loadgen:", err)
			os.Exit(1)
		}
	}
	rec := &recorder{}
	call := func(n int, due time.Time) {
		_, err := clients[n%len(clients)].UnaryEcho(context.Background(), &pb.EchoRequest{Message: "bench"})
		rec.add(time.Since(due), err)
	}
	start := time.Now()
	end := start.Add(*duration)
	var wg sync.WaitGroup
	if *rate == 0 {
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for n := w; time.Now().Before(end); n += *workers {
					call(n, time.Now())
				}
			}(w)
		}
	} else {
		interval := time.Second / time.Duration(*rate)
		total := int(duration.Seconds() * float64(*rate))
		due := make(chan int, total)
		for i := 0; i < total; i++ {
			due <- i
		}
		close(due)
		for w := 0; w < *workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range due {
					at := start.Add(time.Duration(n) * interval)
					time.Sleep(time.Until(at))
					call(n, at)
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(rec.latencies, func(i, j int) bool { return rec.latencies[i] < rec.latencies[j] })
	out := summary{
		AchievedRate: float64(rec.ok.Load()) / elapsed,
		OK:           rec.ok.Load(),
		Errors:       rec.errs.Load(),
		P50us:        rec.quantile(0.50),
		P99us:        rec.quantile(0.99),
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
