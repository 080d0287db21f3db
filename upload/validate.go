package upload

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
	"github.com/pyindex/pyindex/index/pep440"
	"github.com/pyindex/pyindex/index/pep503"
	"github.com/pyindex/pyindex/index/pep508"
	"github.com/pyindex/pyindex/storage"
)

// errNoFile refuses an upload without a file, or with a file part that
// has no filename.
var errNoFile = &InvalidError{Field: "content", Reason: "Upload payload does not have a file"}

// validate checks the form, the digests, the filename and the archive's
// metadata against each other, in roughly PyPI's order so that the first
// failing check gives the message. It returns the file to record and, for
// a wheel, its core metadata file (PEP 658). Every refusal is an
// *InvalidError; other errors are failures to read the temporary file.
func (s *Service) validate(rcv Received) (index.NewFile, []byte, error) {
	var nf index.NewFile
	if rcv.Content == nil {
		return nf, nil, errNoFile
	}
	for name, vals := range rcv.Fields {
		if len(vals) > 1 && singleValued[name] {
			return nf, nil, invalid(name, "'%s' has invalid data: sent more than once", name)
		}
	}
	switch action := rcv.get(":action"); action {
	case "file_upload":
	case "":
		return nf, nil, invalid(":action", "Missing ':action' field (expected 'file_upload')")
	case "submit", "submit_pkg_info":
		return nf, nil, &InvalidError{Field: ":action", Err: ErrUnsupported,
			Reason: "Project pre-registration is no longer required or supported, upload your files instead."}
	case "doc_upload":
		return nf, nil, &InvalidError{Field: ":action", Err: ErrUnsupported, Reason: "Uploading documentation is not supported."}
	default:
		return nf, nil, invalid(":action", "Unknown action '%s'", action)
	}
	if pv := rcv.get("protocol_version"); pv != "" && pv != "1" {
		return nf, nil, invalid("protocol_version", "Unknown protocol version.")
	}
	name, version := rcv.get("name"), rcv.get("version")
	if name == "" {
		return nf, nil, invalid("name", "Missing 'name' field")
	}
	if !pep503.Valid(name) {
		return nf, nil, invalid("name", "'%s' is an invalid value for Name: start and end with a letter or digit, using only ASCII letters, digits, '.', '_' and '-'", clip(name))
	}
	if version == "" {
		return nf, nil, invalid("version", "Missing 'version' field")
	}
	v, err := pep440.Parse(version)
	if err != nil {
		return nf, nil, invalid("version", "'%s' is an invalid value for Version: not a PEP 440 version", clip(version))
	}
	filetype := rcv.get("filetype")
	switch filetype {
	case "sdist", "bdist_wheel":
	case "":
		return nf, nil, invalid("filetype", "Missing 'filetype' field (sdist or bdist_wheel)")
	default:
		return nf, nil, invalid("filetype", "Invalid value for filetype: '%s' (use sdist or bdist_wheel)", clip(filetype))
	}
	if err := checkDigests(rcv); err != nil {
		return nf, nil, err
	}
	fn, err := dist.ParseFilename(rcv.Filename)
	if err != nil {
		return nf, nil, wrapInvalid("filename", err, "Invalid filename '%s': %s", clip(rcv.Filename), reason(err))
	}
	if (fn.Kind == dist.Wheel) != (filetype == "bdist_wheel") {
		return nf, nil, invalid("filetype", "Invalid file extension: %s is not valid for filetype %s", fn.Ext, filetype)
	}
	if err := fn.Check(name, version); err != nil {
		return nf, nil, wrapInvalid("filename", err, "Filename '%s' does not match the form: %s", rcv.Filename, reason(err))
	}
	tmp := rcv.Content
	md, err := dist.ReadMetadata(tmp.f, tmp.size, fn, s.limits())
	if err != nil {
		var ie *dist.InvalidError
		if errors.As(err, &ie) || errors.Is(err, dist.ErrInvalid) {
			field := "archive"
			if ie != nil && ie.Field != "" {
				field = ie.Field
			}
			return nf, nil, wrapInvalid(field, err, "Invalid distribution file: %s", reason(err))
		}
		return nf, nil, err
	}
	if pep503.Normalize(md.Name) != pep503.Normalize(name) {
		return nf, nil, invalid("name", "The name in the file's metadata ('%s') does not match the form's ('%s')", clip(md.Name), clip(name))
	}
	mv, err := pep440.Parse(md.Version)
	if err != nil || !mv.Equal(v) {
		return nf, nil, invalid("version", "The version in the file's metadata ('%s') does not match the form's ('%s')", clip(md.Version), clip(version))
	}
	if err := checkFields(md); err != nil {
		return nf, nil, err
	}
	pyversion := rcv.get("pyversion")
	if filetype == "sdist" {
		pyversion = "source"
	} else if pyversion == "" {
		pyversion = strings.Join(fn.PyTags, ".")
	}
	nf = index.NewFile{
		Project:        md.Name,
		Version:        v.String(),
		Filename:       rcv.Filename,
		PackageType:    filetype,
		PythonVersion:  pyversion,
		RequiresPython: md.RequiresPython,
		Size:           tmp.size,
		SHA256:         tmp.sha256,
		MD5:            tmp.md5,
		Blake2b256:     tmp.blake2,
		BlobKey:        storage.Key(tmp.sha256),
		Comment:        rcv.get("comment"),
		Metadata:       md,
	}
	if !pep503.Valid(nf.Project) {
		nf.Project = name
	}
	var meta []byte
	if fn.Kind == dist.Wheel && len(md.Raw) > 0 {
		// PEP 658: serve the wheel's METADATA, byte for byte.
		meta = md.Raw
		sum := sha256.Sum256(meta)
		nf.MetadataSHA256 = hex.EncodeToString(sum[:])
		nf.MetadataKey = storage.Key(nf.MetadataSHA256)
	}
	return nf, meta, nil
}

// checkFields checks the structured fields of the core metadata, those
// that installers and resolvers parse, so that a file no consumer can read
// (or one built to crash a parser, such as a marker nested millions deep)
// is refused here, with the field named, rather than served. Metadata-Version,
// Name and Version are checked by dist.ParseMetadata.
//
//   - Requires-Python: a PEP 440 specifier set.
//   - Requires-Dist: each a PEP 508 requirement (pep508.Check: direct
//     references `name @ URL` are accepted, as pip accepts them; PyPI
//     refuses them, a private index need not), within pep508.MaxLength and
//     pep508.MaxDepth.
//   - Provides-Extra: each a valid extra name (the project-name rules).
//   - Dynamic (Metadata-Version 2.2): never Name, Version or
//     Metadata-Version, which may not be left to the build (PEP 643).
//
// https://packaging.python.org/en/latest/specifications/core-metadata/
func checkFields(md dist.Metadata) error {
	if md.RequiresPython != "" {
		if _, err := pep440.ParseSpecifierSet(md.RequiresPython); err != nil {
			return wrapInvalid("metadata", err, "Invalid Requires-Python '%s' in the file's metadata", clip(md.RequiresPython))
		}
	}
	for _, r := range md.RequiresDist {
		if err := pep508.Check(r); err != nil {
			return wrapInvalid("metadata", err, "Invalid Requires-Dist '%s' in the file's metadata: %s", clip(r), err)
		}
	}
	for _, e := range md.ProvidesExtra {
		if !pep503.Valid(e) {
			return invalid("metadata", "Invalid Provides-Extra '%s' in the file's metadata: not a valid extra name (ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit)", clip(e))
		}
	}
	for _, d := range md.Dynamic {
		switch strings.ToLower(d) {
		case "name", "version", "metadata-version":
			return invalid("metadata", "Invalid Dynamic '%s' in the file's metadata: %s may not be dynamic", clip(d), clip(d))
		}
	}
	return nil
}

func (s *Service) limits() dist.Limits {
	l := dist.DefaultLimits()
	if s.cfg.MaxMetadataSize > 0 {
		l.MaxMetadataSize = int64(s.cfg.MaxMetadataSize)
	}
	return l
}

// singleValued lists form fields that may appear once.
var singleValued = map[string]bool{
	":action": true, "protocol_version": true, "name": true, "version": true, "filetype": true,
	"pyversion": true, "metadata_version": true, "md5_digest": true, "sha256_digest": true,
	"blake2_256_digest": true, "summary": true, "requires_python": true,
}

func checkDigests(rcv Received) error {
	given := 0
	for _, d := range []struct{ field, got string }{
		{"md5_digest", rcv.Content.md5}, {"sha256_digest", rcv.Content.sha256}, {"blake2_256_digest", rcv.Content.blake2},
	} {
		want := strings.ToLower(strings.TrimSpace(rcv.get(d.field)))
		if want == "" {
			continue
		}
		given++
		if want != d.got {
			return invalid(d.field, "The digest supplied does not match a digest calculated from the uploaded file (%s)", d.field)
		}
	}
	if given == 0 {
		return invalid("sha256_digest", "Include at least one message digest (sha256_digest, blake2_256_digest or md5_digest)")
	}
	return nil
}

// wrapInvalid is invalid with the error that caused the refusal.
func wrapInvalid(field string, err error, format string, args ...any) *InvalidError {
	ie := invalid(field, format, args...)
	ie.Err = err
	return ie
}

func reason(err error) string {
	var ie *dist.InvalidError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	return err.Error()
}

// clip shortens a client-supplied value for an error message.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
