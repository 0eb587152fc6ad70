// The demo's pricing service (Go): GET /price/<id> over HTTP, and
// helloworld.Greeter over gRPC (grpc-go's own example service), which the
// inventory service calls. Knows nothing of tracing.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"net"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	pb "google.golang.org/grpc/examples/helloworld/helloworld"
)

type greeter struct {
	pb.UnimplementedGreeterServer
}

func (greeter) SayHello(_ context.Context, in *pb.HelloRequest) (*pb.HelloReply, error) {
	return &pb.HelloReply{Message: "known item " + in.GetName()}, nil
}

func price(w http.ResponseWriter, r *http.Request) {
	item := strings.TrimPrefix(r.URL.Path, "/price/")
	h := fnv.New32a()
	h.Write([]byte(item))
	w.Header().Set("content-type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"item": item, "cents": 100 + h.Sum32()%9900})
}

func main() {
	httpAddr := flag.String("http", ":8081", "HTTP address")
	grpcAddr := flag.String("grpc", ":50051", "gRPC address")
	flag.Parse()
	lis, err := net.Listen("tcp", *grpcAddr)
	if err != nil {
		log.Fatal(err)
	}
	s := grpc.NewServer()
	pb.RegisterGreeterServer(s, greeter{})
	go func() { log.Fatal(s.Serve(lis)) }()
	http.HandleFunc("/price/", price)
	fmt.Printf("pricing listening on %s (HTTP) and %s (gRPC)\n", *httpAddr, *grpcAddr)
	log.Fatal(http.ListenAndServe(*httpAddr, nil))
}
