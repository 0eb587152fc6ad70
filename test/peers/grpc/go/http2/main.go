// http2-go-server: a plain HTTP/2 server from Go's net/http for the tests,
// the one test peer that takes the HTTP/1.1 "Upgrade: h2c" path (nghttpd
// only speaks h2c with prior knowledge): cleartext, it accepts both prior
// knowledge and Upgrade; with --tls, h2 (or http/1.1) chosen by ALPN.
//
//	/            200 "hello over h2"
//	/status/NNN  status NNN
//	/echo        200 "received N" (N: request body bytes)
//
// Usage: http2-go-server PORT [--host HOST] [--tls CERT KEY]
// Prints "listening PORT" once the socket listens.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func handler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("content-type", "text/plain")
	switch {
	case strings.HasPrefix(r.URL.Path, "/status/"):
		code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		if err != nil || code < 200 || code > 599 {
			code = http.StatusBadRequest
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d\n", code)
	case r.URL.Path == "/echo":
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "received %d\n", n)
	default:
		fmt.Fprintln(w, "hello over h2")
	}
}

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "http2-go-server: %s\nusage: http2-go-server PORT [--host HOST] [--tls CERT KEY]\n", msg)
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

	lis, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "http2-go-server:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %d\n", lis.Addr().(*net.TCPAddr).Port)

	if cert != "" {
		// net/http offers h2 by ALPN on its own once TLS is on.
		err = (&http.Server{Handler: http.HandlerFunc(handler)}).ServeTLS(lis, cert, key)
	} else {
		// net/http's own unencrypted HTTP/2 knows prior knowledge only; h2c
		// (deprecated for that reason, still maintained) also upgrades.
		err = (&http.Server{Handler: h2c.NewHandler(http.HandlerFunc(handler), &http2.Server{})}).Serve(lis)
	}
	fmt.Fprintln(os.Stderr, "http2-go-server:", err)
	os.Exit(1)
}
