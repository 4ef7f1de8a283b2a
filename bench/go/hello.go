// Command hello is the Go peer of the dualcgi benchmarks: the standard library's net/http/fcgi
// serving the same routes as bench/apps/hello.ts on a Unix socket, on one core (GOMAXPROCS=1).
//
// Usage: hello /path/to.sock
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"runtime"
	"strconv"
)

var hello = []byte("Hello, World!\n")

// block is the 64 KiB body of /64k, the same bytes for every backend ('x' repeated).
var block = func() []byte {
	b := make([]byte, 65536)
	for i := range b {
		b[i] = 'x'
	}
	return b
}()

func handle(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/64k":
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(block)))
		w.Write(block)
	case "/post":
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "received %d\n", n)
	default:
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", strconv.Itoa(len(hello)))
		w.Write(hello)
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: hello /path/to.sock")
		os.Exit(2)
	}
	path := os.Args[1]
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// nginx workers run as www-data.
	os.Chmod(path, 0666)
	if err := fcgi.Serve(l, http.HandlerFunc(handle)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
