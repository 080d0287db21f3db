//go:build !unix

package main

// lockData is a no-op where flock(2) is not available.
func lockData(string, bool) (func(), error) { return func() {}, nil }
