// grpc-go-server: grpc-go's echo service (grpc.examples.echo.Echo) and
// helloworld Greeter, with the behaviour every Sonde gRPC test server shares:
// the request message "NOT_FOUND" fails with NOT_FOUND, "UNAVAILABLE" with
// UNAVAILABLE, "SLOW" answers after 3 s, anything else is echoed. A failure
// on a streaming call is returned before any response, so grpc-go sends it
// as a Trailers-Only response.
//
// Usage: grpc-go-server PORT [--host HOST] [--tls CERT KEY]
// Prints "listening PORT" once the socket listens.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	pb "google.golang.org/grpc/examples/features/proto/echo"
	hwpb "google.golang.org/grpc/examples/helloworld/helloworld"
	"google.golang.org/grpc/status"
)

const slow = 3 * time.Second

// failure is the status a control word asks for, or nil to answer.
func failure(msg string) error {
	switch msg {
	case "NOT_FOUND":
		return status.Error(codes.NotFound, "not found")
	case "UNAVAILABLE":
		return status.Error(codes.Unavailable, "unavailable")
	}
	return nil
}

// pause sleeps 3 s for "SLOW", cut short when the call ends first (the
// client's deadline): nobody would read the answer, and the test's server
// should not outlive its client by seconds.
func pause(ctx context.Context, msg string) error {
	if msg != "SLOW" {
		return nil
	}
	select {
	case <-time.After(slow):
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}

type echoServer struct{ pb.UnimplementedEchoServer }

func (echoServer) UnaryEcho(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
	if err := failure(req.Message); err != nil {
		return nil, err
	}
	if err := pause(ctx, req.Message); err != nil {
		return nil, err
	}
	return &pb.EchoResponse{Message: req.Message}, nil
}

func (echoServer) ServerStreamingEcho(req *pb.EchoRequest, stream pb.Echo_ServerStreamingEchoServer) error {
	if err := failure(req.Message); err != nil {
		return err
	}
	if err := pause(stream.Context(), req.Message); err != nil {
		return err
	}
	for range 3 {
		if err := stream.Send(&pb.EchoResponse{Message: req.Message}); err != nil {
			return err
		}
	}
	return nil
}

func (echoServer) ClientStreamingEcho(stream pb.Echo_ClientStreamingEchoServer) error {
	var msgs []string
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := failure(req.Message); err != nil {
			return err
		}
		msgs = append(msgs, req.Message)
	}
	if slices.Contains(msgs, "SLOW") {
		if err := pause(stream.Context(), "SLOW"); err != nil {
			return err
		}
	}
	return stream.SendAndClose(&pb.EchoResponse{Message: strings.Join(msgs, ",")})
}

func (echoServer) BidirectionalStreamingEcho(stream pb.Echo_BidirectionalStreamingEchoServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := failure(req.Message); err != nil {
			return err
		}
		if err := pause(stream.Context(), req.Message); err != nil {
			return err
		}
		if err := stream.Send(&pb.EchoResponse{Message: req.Message}); err != nil {
			return err
		}
	}
}

type greeter struct {
	hwpb.UnimplementedGreeterServer
}

// SayHello answers "Hello NAME", as grpc-go's helloworld server does; the
// control words work on the name too.
func (greeter) SayHello(ctx context.Context, req *hwpb.HelloRequest) (*hwpb.HelloReply, error) {
	if err := failure(req.GetName()); err != nil {
		return nil, err
	}
	if err := pause(ctx, req.GetName()); err != nil {
		return nil, err
	}
	return &hwpb.HelloReply{Message: "Hello " + req.GetName()}, nil
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "grpc-go-server: %s\nusage: grpc-go-server PORT [--host HOST] [--tls CERT KEY]\n", msg)
	os.Exit(2)
}

func main() {
	host := "127.0.0.1"
	port := -1
	var cert, key string
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--host" && i+1 < len(args):
			host = args[i+1]
			i++
		case a == "--tls" && i+2 < len(args):
			cert, key = args[i+1], args[i+2]
			i += 2
		case port < 0:
			p, err := strconv.Atoi(a)
			if err != nil {
				usage("bad port " + a)
			}
			port = p
		default:
			usage("unexpected argument " + a)
		}
	}
	if port < 0 {
		usage("no port")
	}

	var opts []grpc.ServerOption
	if cert != "" {
		creds, err := credentials.NewServerTLSFromFile(cert, key)
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpc-go-server:", err)
			os.Exit(1)
		}
		opts = append(opts, grpc.Creds(creds))
	}
	s := grpc.NewServer(opts...)
	pb.RegisterEchoServer(s, echoServer{})
	hwpb.RegisterGreeterServer(s, greeter{})

	lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "grpc-go-server:", err)
		os.Exit(1)
	}
	// The kernel queues connections from here on, so callers may connect.
	fmt.Printf("listening %d\n", lis.Addr().(*net.TCPAddr).Port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, "grpc-go-server:", err)
		os.Exit(1)
	}
}
