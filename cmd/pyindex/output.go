package main

import (
	"encoding/json"
	"io"

	"github.com/dustin/go-humanize"
)

// The helpers below format what the commands and the home page print.

// humanBytes formats a size with binary units as go-humanize does:
// "512 B", "1.5 KiB", "15 MiB" (one decimal below ten units).
func humanBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// writeJSON writes v as indented JSON, the form every --json flag prints.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
