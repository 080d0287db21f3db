package dist

import (
	"bytes"
	"io"
)

// The sizes of the fixed parts of a zip's end records.
//
// https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT (4.3.14-16)
const (
	zipEndLen       = 22 // end of central directory record, without comment
	zip64EndLen     = 56 // zip64 end of central directory record
	zip64LocatorLen = 20 // zip64 end of central directory locator
)

// zipTailWindow is how much of the end of a file Python's zipfile searches
// for an end of central directory record (a 64 KiB comment and the record:
// `max(filesize - (1 << 16) - sizeEndCentDir, 0)` in _EndRecData), and so
// zipfile.is_zipfile, which pip uses to decide to unpack a file as a zip
// whatever its name.
const zipTailWindow = 1<<16 + zipEndLen

// zipSignatures are the end records a zip reader looks for near the end
// of a file, with the size of their fixed part.
var zipSignatures = []struct {
	sig  []byte
	len  int
	name string
}{
	{[]byte("PK\x05\x06"), zipEndLen, "a zip end-of-central-directory record"},
	{[]byte("PK\x06\x06"), zip64EndLen, "a zip64 end-of-central-directory record"},
	{[]byte("PK\x06\x07"), zip64LocatorLen, "a zip64 end-of-central-directory locator"},
}

// zipTail reports what zip end record, if any, the last zipTailWindow bytes
// of the file hold (a signature with room for the record after it), as
// the name of the record for a message; "" if none.
func zipTail(r io.ReaderAt, size int64) (string, error) {
	n := min(size, zipTailWindow)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-n); err != nil && err != io.EOF {
		return "", err
	}
	for _, s := range zipSignatures {
		// The signature must start at most s.len bytes from the end.
		if n >= int64(s.len) && bytes.Contains(buf[:n-int64(s.len)+int64(len(s.sig))], s.sig) {
			return s.name, nil
		}
	}
	return "", nil
}
