//go:build pprof

package main

import (
	"log"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
)

// With -tags pprof (pyindex-bench --pprof builds so), PYINDEX_PPROF_LISTEN
// serves net/http/pprof on its own listener. Release builds do not contain
// this file.
func init() {
	addr := os.Getenv("PYINDEX_PPROF_LISTEN")
	if addr == "" {
		return
	}
	go func() { log.Println(http.ListenAndServe(addr, nil)) }()
}
