// grpc-go-client: calls grpc.examples.echo.Echo (and helloworld Greeter) on
// one connection, one call after the other, and prints one JSON line per
// call: {"call":"unary","message":"x","code":0,"details":"","responses":1}.
// message is the last response's message ("" if none), code the gRPC status
// code; a failed call is a result, not an error, so the exit status is 0.
//
// Usage: grpc-go-client HOST:PORT CALLSPEC... [--tls CA] [--deadline-ms N] [--concurrent N]
// CALLSPEC: unary:MSG, server:MSG, client:A,B,..., bidi:A,B,..., hello:NAME
// (client and bidi send each comma-separated part as one message).
// --concurrent N runs each callspec N times at once on the one connection.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	pb "google.golang.org/grpc/examples/features/proto/echo"
	hwpb "google.golang.org/grpc/examples/helloworld/helloworld"
	"google.golang.org/grpc/status"
)

type result struct {
	Call      string `json:"call"`
	Message   string `json:"message"`
	Code      int    `json:"code"`
	Details   string `json:"details"`
	Responses int    `json:"responses"`
}

func finish(call string, last *pb.EchoResponse, n int, err error) result {
	r := result{Call: call, Responses: n}
	if last != nil {
		r.Message = last.Message
	}
	if err != nil && !errors.Is(err, io.EOF) {
		s := status.Convert(err)
		r.Code, r.Details = int(s.Code()), s.Message()
	}
	return r
}

type caller struct {
	echo     pb.EchoClient
	greeter  hwpb.GreeterClient
	deadline time.Duration
}

func (c caller) ctx() (context.Context, context.CancelFunc) {
	if c.deadline > 0 {
		return context.WithTimeout(context.Background(), c.deadline)
	}
	return context.WithCancel(context.Background())
}

func (c caller) run(kind, msg string) result {
	ctx, cancel := c.ctx()
	defer cancel()
	switch kind {
	case "unary":
		resp, err := c.echo.UnaryEcho(ctx, &pb.EchoRequest{Message: msg})
		if err != nil {
			return finish(kind, nil, 0, err)
		}
		return finish(kind, resp, 1, nil)
	case "hello":
		resp, err := c.greeter.SayHello(ctx, &hwpb.HelloRequest{Name: msg})
		if err != nil {
			return finish(kind, nil, 0, err)
		}
		return result{Call: kind, Message: resp.GetMessage(), Responses: 1}
	case "server":
		stream, err := c.echo.ServerStreamingEcho(ctx, &pb.EchoRequest{Message: msg})
		if err != nil {
			return finish(kind, nil, 0, err)
		}
		var last *pb.EchoResponse
		for n := 0; ; n++ {
			resp, err := stream.Recv()
			if err != nil {
				return finish(kind, last, n, err)
			}
			last = resp
		}
	case "client":
		stream, err := c.echo.ClientStreamingEcho(ctx)
		if err != nil {
			return finish(kind, nil, 0, err)
		}
		for _, part := range strings.Split(msg, ",") {
			// io.EOF: the server has ended the call; CloseAndRecv says how.
			if err := stream.Send(&pb.EchoRequest{Message: part}); err != nil {
				break
			}
		}
		resp, err := stream.CloseAndRecv()
		if err != nil {
			return finish(kind, nil, 0, err)
		}
		return finish(kind, resp, 1, nil)
	case "bidi":
		stream, err := c.echo.BidirectionalStreamingEcho(ctx)
		if err != nil {
			return finish(kind, nil, 0, err)
		}
		for _, part := range strings.Split(msg, ",") {
			if err := stream.Send(&pb.EchoRequest{Message: part}); err != nil {
				break
			}
		}
		_ = stream.CloseSend()
		var last *pb.EchoResponse
		for n := 0; ; n++ {
			resp, err := stream.Recv()
			if err != nil {
				return finish(kind, last, n, err)
			}
			last = resp
		}
	}
	panic("unknown call " + kind)
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "grpc-go-client: %s\nusage: grpc-go-client HOST:PORT CALLSPEC... [--tls CA] [--deadline-ms N] [--concurrent N]\n", msg)
	os.Exit(2)
}

func main() {
	var target, ca string
	var specs [][2]string
	deadlineMs, concurrent := 0, 1
	args := os.Args[1:]
	number := func(i int) int {
		if i >= len(args) {
			usage(args[i-1] + " needs a value")
		}
		n, err := strconv.Atoi(args[i])
		if err != nil || n < 0 {
			usage("bad number " + args[i])
		}
		return n
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--tls" && i+1 < len(args):
			ca = args[i+1]
			i++
		case a == "--deadline-ms":
			deadlineMs = number(i + 1)
			i++
		case a == "--concurrent":
			concurrent = max(number(i+1), 1)
			i++
		case target == "":
			target = a
		default:
			kind, msg, ok := strings.Cut(a, ":")
			switch kind {
			case "unary", "server", "client", "bidi", "hello":
			default:
				ok = false
			}
			if !ok {
				usage("bad callspec " + a)
			}
			specs = append(specs, [2]string{kind, msg})
		}
	}
	if target == "" {
		usage("no target")
	}

	creds := insecure.NewCredentials()
	if ca != "" {
		c, err := credentials.NewClientTLSFromFile(ca, "")
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpc-go-client:", err)
			os.Exit(1)
		}
		creds = c
	}
	// No retries: one call is one HTTP/2 stream, whatever the status.
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(creds), grpc.WithDisableRetry())
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpc-go-client:", err)
		os.Exit(1)
	}
	defer conn.Close()
	c := caller{pb.NewEchoClient(conn), hwpb.NewGreeterClient(conn), time.Duration(deadlineMs) * time.Millisecond}

	// Connect first, so a deadline times the call alone, not the connection's
	// setup too (a busy test machine can take longer than a 300 ms deadline to
	// start a TLS session). Failing that, the calls say why.
	ready, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready && conn.WaitForStateChange(ready, s); s = conn.GetState() {
	}
	cancel()

	out := json.NewEncoder(os.Stdout)
	for _, s := range specs {
		results := make([]result, concurrent)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = c.run(s[0], s[1])
			}()
		}
		wg.Wait()
		for _, r := range results {
			_ = out.Encode(r)
		}
	}
}
