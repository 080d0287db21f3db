package simple

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// page is a rendered simple-API page, kept with its gzip form and ETag so
// that a hit costs one catalog lookup (of the serial) and a memory copy.
type page struct {
	body []byte
	gz   []byte // nil when not worth compressing
	etag string // strong ETag of body, unquoted, without representation suffix

	// Header values, made once: [0] identity, [1] gzip. etagHdr holds the
	// quoted ETag of each representation (the format it is served as).
	etagHdr   [FormatV1JSON + 1][2][]string
	lengthHdr [2][]string
	serialHdr atomic.Pointer[serialHeader] // the last serial served with
}

// serialHeader is an X-PyPI-Last-Serial value.
type serialHeader struct {
	serial int64
	value  []string
}

// serialHeaderFor returns the X-PyPI-Last-Serial value for serial: a page
// is almost always served with the serial it was rendered at.
func (p *page) serialHeaderFor(serial int64) []string {
	if h := p.serialHdr.Load(); h != nil && h.serial == serial {
		return h.value
	}
	h := &serialHeader{serial, []string{strconv.FormatInt(serial, 10)}}
	p.serialHdr.Store(h)
	return h.value
}

func newPage(body []byte) *page {
	sum := sha256.Sum256(body)
	p := &page{body: body, etag: hex.EncodeToString(sum[:12])}
	for f := range p.etagHdr {
		tag := `"` + p.etag + "-" + strconv.Itoa(f)
		p.etagHdr[f] = [2][]string{{tag + `"`}, {tag + `-gz"`}}
	}
	if len(body) >= 512 {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if b.Len() < len(body) {
			p.gz = b.Bytes()
		}
	}
	p.lengthHdr = [2][]string{{strconv.Itoa(len(p.body))}, {strconv.Itoa(len(p.gz))}}
	return p
}

// pageKey identifies one rendering. serial is the project's last serial (or
// the global serial for the root), so a change by any process yields a new
// key and stale entries are simply never asked for again.
type pageKey struct {
	name    string // "" for the root index
	serial  int64
	json    bool
	source  byte  // 'h' hosted, 'm' mirrored
	variant int64 // Page.Variant: renderings of one serial that differ
}
