// go-vsock-http: Go's net/http over mdlayher/vsock, a peer for the benchmark suite (benchmarks/peers/README.md).
// Serves HTTP/1.1 on vsock any:PORT and h2c on any:PORT+1 with the same endpoints as the other peers.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/mdlayher/vsock"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

const cidAny = 0xFFFFFFFF

var hello = []byte("Hello, World!")
var chunk = make([]byte, 64*1024)

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "13")
		w.Write(hello)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/bytes/", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/bytes/"), 10, 64)
		if err != nil || n < 0 {
			http.Error(w, "bad length", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		for n > 0 {
			m := int64(len(chunk))
			if n < m {
				m = n
			}
			if _, err := w.Write(chunk[:m]); err != nil {
				return
			}
			n -= m
		}
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		// net/http's HTTP/1 server wants the whole body read before the response is written.
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body := strconv.FormatInt(n, 10)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		io.WriteString(w, body)
	})
	return mux
}

func listen(port uint32) net.Listener {
	l, err := vsock.ListenContextID(cidAny, port, nil)
	if err != nil {
		log.Fatalf("go-vsock-http: listen on vsock any:%d: %v", port, err)
	}
	return l
}

func main() {
	port := flag.Uint("port", 5200, "vsock port for HTTP/1.1; PORT+1 serves h2c")
	flag.Parse()
	h1 := listen(uint32(*port))
	h2 := listen(uint32(*port) + 1)
	fmt.Printf("listening on vsock://any:%d\n", *port)
	os.Stdout.Sync()
	go func() {
		log.Fatal((&http.Server{Handler: h2c.NewHandler(handler(), &http2.Server{MaxConcurrentStreams: 1000})}).Serve(h2))
	}()
	log.Fatal((&http.Server{Handler: handler()}).Serve(h1))
}
