// Package disttest builds hostile archives for the tests of index/dist and
// of its callers (the upload service, the mirror), without holding them in
// memory: a zip with millions of central-directory entries is generated as
// it is read.
package disttest

import (
	"encoding/binary"
	"io"
)

// ZipEnd says how the end records of a ManyEntries zip describe its
// central directory.
type ZipEnd int

const (
	// Zip64 ends the zip with a zip64 end record and locator that give
	// the true count and size, and a classic end record saturated to
	// 0xffff and 0xffffffff, as zip writers do past 65535 entries.
	Zip64 ZipEnd = iota
	// Truncated ends it with a classic end record only: the count modulo
	// 65536 (which is all archive/zip compares) and the true size.
	Truncated
	// Lying ends it with a classic end record whose count and size are
	// those of count modulo 65536 entries: archive/zip still reads every
	// entry, because the directory offset is right.
	Lying
)

const (
	localLen = 30 + 1 // the local header of "a", empty and stored
	entryLen = 46 + 1 // a central-directory header for "a"
)

// Zip is a generated zip archive: one local header, n identical
// central-directory entries for the empty stored file "a" (names repeat;
// archive/zip loads them all before anyone can look), and the end records.
// It is an io.ReaderAt; Reader reads it from the start.
type Zip struct {
	n      uint64
	local  []byte
	entry  []byte
	end    []byte
	dirEnd int64 // offset just past the directory
	size   int64
}

// ManyEntries returns a zip of n central-directory entries ending as end
// says. Its size is about 47 bytes per entry (188 MB for 4 million).
func ManyEntries(n uint64, end ZipEnd) *Zip {
	z := &Zip{n: n}
	le := binary.LittleEndian
	z.local = make([]byte, localLen)
	le.PutUint32(z.local[0:], 0x04034b50)
	le.PutUint16(z.local[4:], 20)
	le.PutUint16(z.local[26:], 1)
	z.local[30] = 'a'
	z.entry = make([]byte, entryLen)
	le.PutUint32(z.entry[0:], 0x02014b50)
	le.PutUint16(z.entry[4:], 20)
	le.PutUint16(z.entry[6:], 20)
	le.PutUint16(z.entry[28:], 1)
	z.entry[46] = 'a'

	dirSize := n * entryLen
	z.dirEnd = localLen + int64(dirSize)
	eocd := make([]byte, 22)
	le.PutUint32(eocd[0:], 0x06054b50)
	switch end {
	case Zip64:
		rec := make([]byte, 56)
		le.PutUint32(rec[0:], 0x06064b50)
		le.PutUint64(rec[4:], 56-12)
		le.PutUint16(rec[12:], 45)
		le.PutUint16(rec[14:], 45)
		le.PutUint64(rec[24:], n)
		le.PutUint64(rec[32:], n)
		le.PutUint64(rec[40:], dirSize)
		le.PutUint64(rec[48:], localLen)
		loc := make([]byte, 20)
		le.PutUint32(loc[0:], 0x07064b50)
		le.PutUint64(loc[8:], uint64(z.dirEnd))
		le.PutUint32(loc[16:], 1)
		le.PutUint16(eocd[8:], 0xffff)
		le.PutUint16(eocd[10:], 0xffff)
		le.PutUint32(eocd[12:], 0xffffffff)
		le.PutUint32(eocd[16:], 0xffffffff)
		z.end = append(append(rec, loc...), eocd...)
	case Truncated, Lying:
		claimed := n & 0xffff
		size := dirSize
		if end == Lying {
			size = claimed * entryLen
		}
		le.PutUint16(eocd[8:], uint16(claimed))
		le.PutUint16(eocd[10:], uint16(claimed))
		le.PutUint32(eocd[12:], uint32(size))
		le.PutUint32(eocd[16:], localLen)
		z.end = eocd
	}
	z.size = z.dirEnd + int64(len(z.end))
	return z
}

// Size returns the length of the archive in bytes.
func (z *Zip) Size() int64 { return z.size }

// Reader returns a reader of the whole archive.
func (z *Zip) Reader() io.Reader { return io.NewSectionReader(z, 0, z.size) }

// ReadAt implements io.ReaderAt.
func (z *Zip) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := 0
	for n < len(p) && off < z.size {
		var c int
		switch {
		case off < localLen:
			c = copy(p[n:], z.local[off:])
		case off < z.dirEnd:
			i := (off - localLen) % entryLen
			c = copy(p[n:], z.entry[i:])
			c = min(c, int(z.dirEnd-off))
		default:
			c = copy(p[n:], z.end[off-z.dirEnd:])
		}
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
