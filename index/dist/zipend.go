package dist

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// The zip end-of-central-directory records, read here before archive/zip
// opens an archive. zip.NewReader allocates for every central-directory
// entry (about 190 bytes of heap each, plus the name) before a caller can
// count them, and it reads entries until one does not parse, whatever the
// end record claims (it compares only the low 16 bits of the count). So
// checkZipDirectory reads the end record as archive/zip does, refuses a
// claimed count or directory size beyond the limits, and then walks the
// directory headers itself, in constant memory, refusing an archive with
// more members (or more directory bytes) than the limits allow: what
// zip.NewReader then loads is bounded by MaxMembers.
//
// https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT (4.3.12, 4.3.14-16)

const (
	zipDirHeaderLen   = 46 // central directory file header, without name, extra and comment
	zipDirHeaderSig   = 0x02014b50
	zipEndSig         = 0x06054b50
	zip64EndSig       = 0x06064b50
	zip64LocatorSig   = 0x07064b50
	zipEndSearchBytes = 65 * 1024 // how far from the end archive/zip looks for the end record

	// zipEntryAllowance is the average size allowed per central-directory
	// entry for its name, extra field and comment, and zipDirSlack the
	// allowance on top for the whole directory. Real entries carry a path
	// and an extra field of a few dozen bytes; these leave ample room while
	// keeping the directory, which archive/zip holds in memory, within a
	// small multiple of what MaxMembers entries cost.
	zipEntryAllowance = 1024
	zipDirSlack       = 1 << 20
)

// maxZipDir is the largest central directory allowed for n entries.
func maxZipDir(n uint64) uint64 {
	return zipDirSlack + n*(zipDirHeaderLen+zipEntryAllowance)
}

// zipEnd is what a zip's end records say about its central directory, as
// archive/zip (Go 1.26, reader.go readDirectoryEnd) interprets them.
type zipEnd struct {
	records   uint64 // total entries claimed
	dirSize   uint64 // central directory size claimed, in bytes
	dirOffset uint64 // central directory offset recorded
	zip64     bool   // the values come from a zip64 end record
	// starts are the offsets where archive/zip may start reading directory
	// headers: baseOffset+dirOffset, and dirOffset too when archive/zip
	// would test it (prepended data).
	starts []int64
}

// readZipEnd finds and reads the end of central directory record of the
// zip of the given size, and the zip64 end record it points to, exactly as
// archive/zip does, so that the values checked are the ones zip.NewReader
// will use. ok is false when archive/zip would refuse the archive at this
// stage (no end record, a bad zip64 record, a directory outside the file);
// err is the reader's error, if any.
func readZipEnd(r io.ReaderAt, size int64) (end zipEnd, ok bool, err error) {
	// The last signature whose fixed part fits, in the last KiB, else in
	// the last 65 KiB; archive/zip gives up if that record's comment runs
	// past the end of the file.
	var (
		buf []byte
		n   int64
		p   = -1
	)
	for _, want := range []int64{1024, zipEndSearchBytes} {
		n = min(size, want)
		if n < zipEndLen {
			return end, false, nil
		}
		buf = make([]byte, n)
		if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
			return end, false, err
		}
		for i := len(buf) - zipEndLen; i >= 0; i-- {
			if binary.LittleEndian.Uint32(buf[i:]) == zipEndSig {
				p = i
				break
			}
		}
		if p >= 0 || n == size {
			break
		}
	}
	if p < 0 {
		return end, false, nil
	}
	rec := buf[p:]
	if int(binary.LittleEndian.Uint16(rec[20:]))+zipEndLen > len(rec) {
		return end, false, nil
	}
	endOffset := size - n + int64(p)
	end.records = uint64(binary.LittleEndian.Uint16(rec[10:]))
	end.dirSize = uint64(binary.LittleEndian.Uint32(rec[12:]))
	end.dirOffset = uint64(binary.LittleEndian.Uint32(rec[16:]))

	// archive/zip looks for zip64 records when one of these fields is
	// saturated; it tests the 32-bit size against 0xffff, and so does this.
	if end.records == 0xffff || end.dirSize == 0xffff || end.dirOffset == 0xffffffff {
		if loc := endOffset - zip64LocatorLen; loc >= 0 {
			var lb [zip64LocatorLen]byte
			if _, err := r.ReadAt(lb[:], loc); err != nil && err != io.EOF {
				return end, false, err
			}
			if binary.LittleEndian.Uint32(lb[0:]) == zip64LocatorSig &&
				binary.LittleEndian.Uint32(lb[4:]) == 0 && binary.LittleEndian.Uint32(lb[16:]) == 1 {
				// An offset that is negative as an int64 makes archive/zip
				// ignore the zip64 records; one past the file, fail.
				if off := int64(binary.LittleEndian.Uint64(lb[8:])); off >= 0 {
					if off > size-zip64EndLen {
						return end, false, nil
					}
					var eb [zip64EndLen]byte
					if _, err := r.ReadAt(eb[:], off); err != nil && err != io.EOF {
						return end, false, err
					}
					if binary.LittleEndian.Uint32(eb[0:]) != zip64EndSig {
						return end, false, nil
					}
					end.zip64 = true
					endOffset = off
					end.records = binary.LittleEndian.Uint64(eb[32:])
					end.dirSize = binary.LittleEndian.Uint64(eb[40:])
					end.dirOffset = binary.LittleEndian.Uint64(eb[48:])
				}
			}
		}
	}
	if end.dirSize > 1<<63-1 || end.dirOffset > 1<<63-1 {
		return end, false, nil
	}
	base := endOffset - int64(end.dirSize) - int64(end.dirOffset)
	start := base + int64(end.dirOffset)
	if start < 0 || start >= size {
		return end, false, nil
	}
	end.starts = []int64{start}
	if base > 0 && int64(end.dirOffset) < size {
		// archive/zip then uses dirOffset itself if a header parses there.
		end.starts = append(end.starts, int64(end.dirOffset))
	}
	return end, true, nil
}

// checkZipDirectory refuses a zip whose central directory is beyond the
// limits, before zip.NewReader loads it: a claimed count over MaxMembers, a
// claimed or actual directory size over maxZipDir, or more entries than
// MaxMembers found by walking the headers. It returns nil for an archive it
// cannot make sense of: zip.NewReader refuses those itself, cheaply.
func checkZipDirectory(r io.ReaderAt, size int64, lim Limits) error {
	end, ok, err := readZipEnd(r, size)
	if err != nil || !ok {
		return err
	}
	maxMembers := uint64(lim.MaxMembers)
	if end.records > maxMembers {
		return invalid("archive", fmt.Sprintf("archive has more than %d members: its zip end record claims %d", lim.MaxMembers, end.records))
	}
	if end.dirSize > maxZipDir(end.records) {
		return invalid("archive", fmt.Sprintf("zip central directory of %d bytes is too large for %d members (at most %s)", end.dirSize, end.records, byteSize(int64(maxZipDir(end.records)))))
	}
	for _, start := range end.starts {
		n, bytes, err := walkZipDirectory(r, start, size, maxMembers+1, maxZipDir(maxMembers))
		if err != nil {
			return err
		}
		if n > maxMembers {
			return invalid("archive", fmt.Sprintf("archive has more than %d members", lim.MaxMembers))
		}
		if bytes > maxZipDir(n) {
			return invalid("archive", fmt.Sprintf("zip central directory of more than %d bytes is too large for %d members (at most %s)", bytes, n, byteSize(int64(maxZipDir(n)))))
		}
	}
	return nil
}

// walkZipDirectory counts the central-directory headers from start, as
// zip.NewReader reads them (until one does not begin with the signature or
// is cut short by the end of the file), stopping once it has counted
// maxEntries or maxBytes. It returns the entries and bytes counted, and the
// reader's error, if any. Its memory use does not depend on the archive.
func walkZipDirectory(r io.ReaderAt, start, size int64, maxEntries, maxBytes uint64) (n, total uint64, err error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, size-start), int(min(size-start, 32<<10)))
	var h [zipDirHeaderLen]byte
	for n < maxEntries && total <= maxBytes {
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return n, total, readErr(err)
		}
		if binary.LittleEndian.Uint32(h[0:]) != zipDirHeaderSig {
			return n, total, nil
		}
		rest := int(binary.LittleEndian.Uint16(h[28:])) + int(binary.LittleEndian.Uint16(h[30:])) + int(binary.LittleEndian.Uint16(h[32:]))
		if d, err := br.Discard(rest); d < rest {
			return n, total, readErr(err)
		}
		n++
		total += uint64(zipDirHeaderLen + rest)
	}
	return n, total, nil
}

// readErr maps the end of the file, where a directory walk stops, to nil.
func readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF || err == errBadOffset {
		return nil
	}
	return err
}
