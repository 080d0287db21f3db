//go:build !linux

package httpx

import "os"

// MemFile returns nil: without memfd_create(2) large pages are written
// from memory.
func MemFile(b []byte) *os.File { return nil }
