//go:build !unix

package sqlitewatch

type walStamp [3]uint64

type walHeader struct{}

func (*walHeader) stamp() walStamp { return walStamp{} }

// mapWALHeader is not available here: the watch runs PRAGMA
// data_version for every check.
func mapWALHeader(string) (*walHeader, func()) { return nil, nil }
