package httpx

import (
	"bytes"
	"io"
	"testing"
)

// TestMemFile: the file holds the bytes, at any offset, and cannot be
// changed or grown.
func TestMemFile(t *testing.T) {
	b := bytes.Repeat([]byte("pyindex page "), 5000)
	f := MemFile(b)
	if f == nil {
		t.Fatal("MemFile: nil on Linux")
	}
	defer f.Close()
	got := make([]byte, len(b))
	if _, err := f.ReadAt(got, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if !bytes.Equal(got, b) {
		t.Fatal("the file does not hold the bytes")
	}
	if _, err := f.WriteAt([]byte("X"), 10); err == nil {
		t.Error("a sealed file took a write")
	}
	if err := f.Truncate(1); err == nil {
		t.Error("a sealed file was shrunk")
	}
}
