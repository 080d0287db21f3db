package dist

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strings"

	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
)

// Limits bounds the work ReadMetadata does on an archive. A zero field means
// the default from DefaultLimits.
type Limits struct {
	// MaxMetadataSize is the largest METADATA, PKG-INFO or WHEEL file read,
	// in bytes, counted as actually decompressed.
	MaxMetadataSize int64
	// MaxMembers is the most members an archive may have. For a zip it is
	// checked against the end record, and the central directory's headers
	// are counted, before archive/zip loads the directory (which costs
	// about 200 bytes of memory per entry).
	MaxMembers int
	// MaxUncompressed caps the bytes decompressed while scanning a .tar.gz
	// sdist, which must be read to its end to check its layout.
	MaxUncompressed int64
	// MaxRatio and RatioMinSize reject decompression bombs as warehouse
	// does: an archive whose uncompressed size exceeds RatioMinSize and
	// MaxRatio times its compressed size is refused. For zips the declared
	// sizes are summed; for .tar.gz the bytes actually decompressed are
	// counted, and scanning stops as soon as the ratio is exceeded.
	MaxRatio     float64
	RatioMinSize int64
}

// DefaultLimits returns the limits used for uploads: 1 MiB of metadata,
// 100000 members, 4 GiB decompressed per sdist, and a compression ratio of
// at most 50 once past 64 MiB.
func DefaultLimits() Limits {
	return Limits{
		MaxMetadataSize: 1 << 20,
		MaxMembers:      100000,
		MaxUncompressed: 4 << 30,
		MaxRatio:        50,
		RatioMinSize:    64 << 20,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxMetadataSize <= 0 {
		l.MaxMetadataSize = d.MaxMetadataSize
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = d.MaxMembers
	}
	if l.MaxUncompressed <= 0 {
		l.MaxUncompressed = d.MaxUncompressed
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = d.MaxRatio
	}
	if l.RatioMinSize <= 0 {
		l.RatioMinSize = d.RatioMinSize
	}
	return l
}

// ReadMetadata finds and parses the core metadata inside the distribution
// of the given size readable from r, whose parsed filename is f.
//
// For a wheel it reads "{name}-{version}.dist-info/METADATA", with name and
// version the raw filename parts (as warehouse does), or else the single
// top-level *.dist-info/METADATA whose directory name matches the filename's
// project and version. The same directory must hold a WHEEL file with
// Wheel-Version 1.x and a RECORD file (whose contents are not checked).
//
// For an sdist (.tar.gz or .zip) the archive must hold exactly one top-level
// directory, and its PKG-INFO file is read. Members with absolute paths or
// ".." components are ignored. A .tar.gz is read to its end, within
// lim.MaxUncompressed and the compression-ratio limit; it must end with its
// last gzip member, and must not hold a zip end record (zip or zip64) in its
// last 65558 bytes, where zip readers look.
//
// A zip's end records are read before the archive is opened: a claimed
// member count above lim.MaxMembers, or a central directory larger than
// 1 MiB plus 1070 bytes per member, is refused before any of it is loaded.
// Zips may use only the STORED and DEFLATE methods and may not repeat a
// member name. Only regular files are read: a symlink or hard link named
// METADATA or PKG-INFO is refused, never followed.
//
// ReadMetadata does not check that the metadata's Name and Version agree with
// f; use f.Check(m.Name, m.Version).
//
// It returns an *InvalidError for a bad archive or bad metadata, and an error
// wrapping the reader's error if r fails.
func ReadMetadata(r io.ReaderAt, size int64, f Filename, lim Limits) (Metadata, error) {
	lim = lim.withDefaults()
	src := &trackingReaderAt{r: r, size: size}
	var (
		member string
		raw    []byte
		err    error
	)
	switch {
	case f.Kind == Wheel && f.Ext == ExtWheel:
		member, raw, err = readWheel(src, size, f, lim)
	case f.Kind == Sdist && f.Ext == ExtTarGz:
		member, raw, err = readTarGz(src, size, lim)
	case f.Kind == Sdist && f.Ext == ExtZip:
		member, raw, err = readZipSdist(src, size, lim)
	default:
		return Metadata{}, invalid("filename", errExtension)
	}
	if src.err != nil {
		return Metadata{}, fmt.Errorf("read distribution: %w", src.err)
	}
	if err != nil {
		return Metadata{}, err
	}
	m, err := ParseMetadata(raw)
	if ie := (*InvalidError)(nil); errors.As(err, &ie) {
		return Metadata{}, &InvalidError{Field: ie.Field, Reason: member + ": " + ie.Reason, Err: ie.Err}
	}
	return m, err
}

// trackingReaderAt remembers the first error of the underlying reader other
// than io.EOF, so that I/O failures can be told apart from corrupt archives.
type trackingReaderAt struct {
	r    io.ReaderAt
	size int64
	err  error
}

// errBadOffset answers reads that a corrupt archive directs outside the
// file; it is the archive's fault, not an I/O failure.
var errBadOffset = errors.New("archive points outside the file")

func (t *trackingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > t.size {
		return 0, errBadOffset
	}
	if off == t.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n, err := t.r.ReadAt(p, off)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

func tooLarge(what string, lim int64) *InvalidError {
	return invalid("archive", fmt.Sprintf("%s is larger than %s", what, byteSize(lim)))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// openZip opens a zip archive and applies the checks common to wheels and
// zip sdists. It returns the members by name. The central directory is
// checked against lim (checkZipDirectory) before archive/zip loads it.
func openZip(r io.ReaderAt, size int64, lim Limits) (map[string]*zip.File, []*zip.File, error) {
	if err := checkZipDirectory(r, size, lim); err != nil {
		return nil, nil, err
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, nil, &InvalidError{Field: "archive", Reason: "not a zip archive", Err: err}
	}
	if len(zr.File) > lim.MaxMembers {
		return nil, nil, invalid("archive", fmt.Sprintf("archive has more than %d members", lim.MaxMembers))
	}
	byName := make(map[string]*zip.File, len(zr.File))
	var total uint64
	for _, zf := range zr.File {
		if _, dup := byName[zf.Name]; dup {
			return nil, nil, invalid("archive", fmt.Sprintf("archive has more than one member named %q", zf.Name))
		}
		byName[zf.Name] = zf
		if zf.Method != zip.Store && zf.Method != zip.Deflate {
			return nil, nil, invalid("archive", fmt.Sprintf("member %q uses unsupported compression method %d (only STORED and DEFLATE are allowed)", zf.Name, zf.Method))
		}
		total += zf.UncompressedSize64
		if total < zf.UncompressedSize64 {
			total = math.MaxUint64
		}
	}
	if bomb(total, size, lim) {
		return nil, nil, invalid("archive", fmt.Sprintf("archive exceeds compression ratio of %g", lim.MaxRatio))
	}
	return byName, zr.File, nil
}

// bomb applies the compression-ratio rule.
func bomb(uncompressed uint64, compressed int64, lim Limits) bool {
	if uncompressed <= uint64(lim.RatioMinSize) {
		return false
	}
	return float64(uncompressed) > lim.MaxRatio*float64(max(compressed, 1))
}

// readZipMember reads a regular-file member of at most limit bytes, counting
// the bytes actually decompressed rather than trusting the declared size.
func readZipMember(zf *zip.File, limit int64) ([]byte, error) {
	if zf.Mode()&fs.ModeType != 0 || strings.HasSuffix(zf.Name, "/") {
		return nil, invalid("archive", fmt.Sprintf("%s is not a regular file", zf.Name))
	}
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, tooLarge(zf.Name, limit)
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, &InvalidError{Field: "archive", Reason: fmt.Sprintf("cannot read %s: %v", zf.Name, err), Err: err}
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if int64(len(data)) > limit {
		return nil, tooLarge(zf.Name, limit)
	}
	if err != nil {
		return nil, &InvalidError{Field: "archive", Reason: fmt.Sprintf("cannot read %s: %v", zf.Name, err), Err: err}
	}
	return data, nil
}

// readWheel returns the path and contents of a wheel's METADATA file.
//
// https://packaging.python.org/en/latest/specifications/binary-distribution-format/#the-dist-info-directory
func readWheel(r io.ReaderAt, size int64, f Filename, lim Limits) (string, []byte, error) {
	byName, files, err := openZip(r, size, lim)
	if err != nil {
		return "", nil, err
	}
	dir := f.Name + "-" + f.Version + ".dist-info/"
	if byName[dir+"METADATA"] == nil {
		dirs := distInfoDirs(files, f)
		switch len(dirs) {
		case 0:
			return "", nil, invalid("archive", "wheel has no METADATA file "+dir+"METADATA")
		case 1:
			dir = dirs[0]
		default:
			return "", nil, invalid("archive", fmt.Sprintf("wheel has %d .dist-info directories for %s %s", len(dirs), f.Project(), f.Version))
		}
	}
	wf := byName[dir+"WHEEL"]
	if wf == nil {
		return "", nil, invalid("archive", "wheel has no WHEEL file "+dir+"WHEEL")
	}
	if byName[dir+"RECORD"] == nil {
		return "", nil, invalid("archive", "wheel has no RECORD file "+dir+"RECORD")
	}
	wheel, err := readZipMember(wf, lim.MaxMetadataSize)
	if err != nil {
		return "", nil, err
	}
	if err := checkWheelFile(wf.Name, wheel); err != nil {
		return "", nil, err
	}
	name := dir + "METADATA"
	data, err := readZipMember(byName[name], lim.MaxMetadataSize)
	return name, data, err
}

// distInfoDirs returns the top-level "*.dist-info/" directories holding a
// METADATA file whose name and version match f.
func distInfoDirs(files []*zip.File, f Filename) []string {
	want := f.Project()
	ver, err := pep440.Parse(f.Version)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, zf := range files {
		dir, ok := strings.CutSuffix(zf.Name, ".dist-info/METADATA")
		if !ok || strings.Contains(dir, "/") {
			continue
		}
		for i := strings.IndexByte(dir, '-'); i >= 0; {
			if pep503.Normalize(dir[:i]) == want {
				if v, err := pep440.Parse(dir[i+1:]); err == nil && v.Equal(ver) {
					dirs = append(dirs, dir+".dist-info/")
					break
				}
			}
			j := strings.IndexByte(dir[i+1:], '-')
			if j < 0 {
				break
			}
			i += 1 + j
		}
	}
	return dirs
}

// checkWheelFile checks that a WHEEL file declares Wheel-Version 1.x:
// consumers must refuse a wheel whose major version they do not know.
//
// https://packaging.python.org/en/latest/specifications/binary-distribution-format/#file-contents
func checkWheelFile(name string, data []byte) error {
	headers, _ := parseMessage(data)
	for _, h := range headers {
		if h.name != "wheel-version" {
			continue
		}
		v := strings.TrimSpace(h.value)
		major, _, _ := strings.Cut(v, ".")
		if strings.TrimLeft(major, "0") != "1" || !allDigits(major) {
			return invalid("archive", fmt.Sprintf("%s has unsupported Wheel-Version %q", name, v))
		}
		return nil
	}
	return invalid("archive", name+" has no Wheel-Version")
}

// memberPath cleans an archive member name for layout checks: a leading "./"
// and a trailing "/" are removed. It reports false for names that are
// absolute, contain "." or ".." elements, empty elements or backslashes;
// such members are ignored.
func memberPath(name string) (string, bool) {
	for strings.HasPrefix(name, "./") {
		name = name[2:]
	}
	name = strings.TrimSuffix(name, "/")
	if name == "" || strings.Contains(name, "\\") || !fs.ValidPath(name) || name == "." {
		return "", false
	}
	return name, true
}

// sdistLayout tracks the single top-level directory of an sdist.
type sdistLayout struct {
	top string
}

// add records a member (already cleaned by memberPath) and reports whether
// it is the top-level PKG-INFO.
func (l *sdistLayout) add(name string, isDir bool) (pkgInfo bool, err error) {
	first, rest, nested := strings.Cut(name, "/")
	if !nested && !isDir {
		return false, invalid("archive", fmt.Sprintf("sdist must contain a single top-level directory, but has top-level file %q", name))
	}
	switch {
	case l.top == "":
		l.top = first
	case l.top != first:
		return false, invalid("archive", fmt.Sprintf("sdist must contain a single top-level directory, but has %q and %q", l.top, first))
	}
	return rest == "PKG-INFO", nil
}

func (l *sdistLayout) missing() error {
	if l.top == "" {
		return invalid("archive", "sdist is empty")
	}
	return invalid("archive", "sdist has no PKG-INFO file "+l.top+"/PKG-INFO")
}

// readZipSdist returns the path and contents of a zip sdist's PKG-INFO.
func readZipSdist(r io.ReaderAt, size int64, lim Limits) (string, []byte, error) {
	_, files, err := openZip(r, size, lim)
	if err != nil {
		return "", nil, err
	}
	var layout sdistLayout
	var pkgInfo *zip.File
	for _, zf := range files {
		name, ok := memberPath(zf.Name)
		if !ok {
			continue
		}
		isPkgInfo, err := layout.add(name, zf.Mode().IsDir() || strings.HasSuffix(zf.Name, "/"))
		if err != nil {
			return "", nil, err
		}
		if isPkgInfo {
			if pkgInfo != nil {
				return "", nil, invalid("archive", fmt.Sprintf("sdist has more than one %s", name))
			}
			pkgInfo = zf
		}
	}
	if pkgInfo == nil {
		return "", nil, layout.missing()
	}
	data, err := readZipMember(pkgInfo, lim.MaxMetadataSize)
	return pkgInfo.Name, data, err
}

// errLimit is returned by limitedReader when a decompression limit is hit.
type errLimit struct{ err *InvalidError }

func (e errLimit) Error() string { return e.err.Error() }

// limitedReader counts decompressed bytes and fails once the total or the
// compression-ratio limit is exceeded.
type limitedReader struct {
	r          io.Reader
	n          int64
	compressed int64
	lim        Limits
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	switch {
	case l.n > l.lim.MaxUncompressed:
		return n, errLimit{invalid("archive", fmt.Sprintf("sdist decompresses to more than %s", byteSize(l.lim.MaxUncompressed)))}
	case bomb(uint64(l.n), l.compressed, l.lim):
		return n, errLimit{invalid("archive", fmt.Sprintf("archive exceeds compression ratio of %g", l.lim.MaxRatio))}
	}
	return n, err
}

// readTarGz returns the path and contents of a .tar.gz sdist's PKG-INFO. The
// whole stream is read, so that the layout is checked for every member and
// the gzip checksum is verified.
//
// The file must be gzip and nothing else: no zip end record in its last
// zipTailWindow bytes (pip unpacks any file that zipfile.is_zipfile accepts
// as a zip, whatever its name, so a .tar.gz with a zip appended would
// install something other than what is checked here), and no bytes after
// its last gzip member. Several members are read as one stream, as
// Python's gzip module and tarfile read them; padding after the last one,
// even zeros (which Python skips), is refused.
//
// https://packaging.python.org/en/latest/specifications/source-distribution-format/#source-distribution-archive-features
func readTarGz(r io.ReaderAt, size int64, lim Limits) (string, []byte, error) {
	zr, err := newGzipStream(io.NewSectionReader(r, 0, size))
	if err != nil {
		return "", nil, &InvalidError{Field: "archive", Reason: "not a gzip file", Err: err}
	}
	kind, err := zipTail(r, size)
	if err != nil {
		return "", nil, err
	}
	if kind != "" {
		return "", nil, invalid("archive", fmt.Sprintf("file is both a .tar.gz and a zip archive: it holds %s in its last %d bytes, where zip readers (pip's among them) look", kind, zipTailWindow))
	}
	lr := &limitedReader{r: zr, compressed: size, lim: lim}
	corrupt := func(err error) error {
		if el, ok := errors.AsType[errLimit](err); ok {
			return el.err
		}
		if errors.Is(err, errTrailing) {
			return &InvalidError{Field: "archive", Reason: "corrupt .tar.gz: " + errTrailing.Error(), Err: err}
		}
		return &InvalidError{Field: "archive", Reason: fmt.Sprintf("corrupt .tar.gz: %v", err), Err: err}
	}
	tr := tar.NewReader(lr)
	var (
		layout  sdistLayout
		member  string
		data    []byte
		members int
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, corrupt(err)
		}
		if members++; members > lim.MaxMembers {
			return "", nil, invalid("archive", fmt.Sprintf("archive has more than %d members", lim.MaxMembers))
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name, ok := memberPath(hdr.Name)
		if !ok {
			continue
		}
		isPkgInfo, err := layout.add(name, hdr.Typeflag == tar.TypeDir)
		if err != nil {
			return "", nil, err
		}
		if !isPkgInfo {
			continue
		}
		if member != "" {
			return "", nil, invalid("archive", fmt.Sprintf("sdist has more than one %s", name))
		}
		member = name
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != '\x00' {
			return "", nil, invalid("archive", fmt.Sprintf("%s is not a regular file", name))
		}
		if hdr.Size > lim.MaxMetadataSize {
			return "", nil, tooLarge(name, lim.MaxMetadataSize)
		}
		data, err = io.ReadAll(io.LimitReader(tr, lim.MaxMetadataSize+1))
		if err != nil {
			return "", nil, corrupt(err)
		}
		if int64(len(data)) > lim.MaxMetadataSize {
			return "", nil, tooLarge(name, lim.MaxMetadataSize)
		}
	}
	// Read the rest of the gzip stream to verify its checksums and that
	// nothing follows it.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return "", nil, corrupt(err)
	}
	if member == "" {
		return "", nil, layout.missing()
	}
	return member, data, nil
}

// errTrailing reports bytes after the last gzip member of a .tar.gz.
var errTrailing = errors.New("data after the end of the gzip stream (the file must end with its last gzip member)")

// gzipStream reads the members of a gzip file one after another, and fails
// with errTrailing when bytes that do not begin a member follow one.
// Reading members one at a time, from a bufio.Reader that compress/gzip
// uses as it is (it is an io.ByteReader), keeps track of exactly where each
// one ends; gzip.Reader's own multistream mode cannot tell trailing garbage
// from a corrupt member header.
type gzipStream struct {
	br *bufio.Reader
	zr *gzip.Reader
}

func newGzipStream(r io.Reader) (*gzipStream, error) {
	br := bufio.NewReader(r)
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	return &gzipStream{br: br, zr: zr}, nil
}

func (g *gzipStream) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if err != io.EOF {
			return n, err
		}
		if n > 0 {
			return n, nil // the next Read sees the end of the member again
		}
		// The member ended. At the end of the file, so does the stream;
		// otherwise a new member must begin here.
		if _, err := g.br.Peek(1); err == io.EOF {
			return 0, io.EOF
		} else if err != nil {
			return 0, err
		}
		if err := g.zr.Reset(g.br); err != nil {
			if errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
				return 0, errTrailing
			}
			return 0, err
		}
		g.zr.Multistream(false)
	}
}
