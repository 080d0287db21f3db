//go:build !unix

package index

// walChangeCounter is not available here: the serial cache runs PRAGMA
// data_version for every check.
func walChangeCounter(string) (*uint32, func()) { return nil, nil }

func loadCounter(p *uint32) uint32 { return *p }
