package upload

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"math/rand/v2"
	"testing"

	"golang.org/x/crypto/blake2b"
)

func TestTeeHasher(t *testing.T) {
	data := make([]byte, 3*spoolBuffer+12345)
	rand.NewChaCha8([32]byte{7}).Read(data)
	b2, _ := blake2b.New256(nil)
	hs := []hash.Hash{sha256.New(), md5.New(), b2}
	var dst bytes.Buffer
	th := newTeeHasher(&dst, hs...)
	defer th.Close()
	bw := bufio.NewWriterSize(th, spoolBuffer)
	// Odd-sized reads, as a multipart body gives them.
	if _, err := io.CopyBuffer(bw, struct{ io.Reader }{bytes.NewReader(data)}, make([]byte, 4093)); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	th.Wait()
	if !bytes.Equal(dst.Bytes(), data) {
		t.Fatal("destination differs")
	}
	k := blake2b.Sum256(data)
	s, m := sha256.Sum256(data), md5.Sum(data)
	for i, want := range [][]byte{s[:], m[:], k[:]} {
		if got := hs[i].Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("hash %d: %x, want %x", i, got, want)
		}
	}
}

type failWriter struct{}

var errDisk = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDisk }

func TestTeeHasherWriteError(t *testing.T) {
	th := newTeeHasher(failWriter{}, sha256.New())
	defer th.Close()
	if _, err := th.Write([]byte("x")); !errors.Is(err, errDisk) {
		t.Errorf("Write = %v, want the destination's error", err)
	}
}

func BenchmarkSpool(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b2, _ := blake2b.New256(nil)
		th := newTeeHasher(io.Discard, sha256.New(), md5.New(), b2)
		bw := bufio.NewWriterSize(th, spoolBuffer)
		io.Copy(bw, bytes.NewReader(data))
		bw.Flush()
		th.Close()
	}
}

func BenchmarkSpoolSequential(b *testing.B) {
	data := make([]byte, 64<<20)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b2, _ := blake2b.New256(nil)
		io.Copy(io.MultiWriter(io.Discard, sha256.New(), md5.New(), b2), bytes.NewReader(data))
	}
}
