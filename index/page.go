package index

import "time"

// Page is the source-independent content of a project detail page: hosted
// projects and mirrored ones are both rendered from it.
type Page struct {
	Name     string // normalized
	Serial   int64
	Versions []string // sorted by PEP 440
	Files    []PageFile
	// Variant tells apart pages of one Serial with different content (a
	// mirror serving a stale page lists only its cached files); rendered
	// pages are cached by (Serial, Variant).
	Variant int64
}

// PageFile is one file link.
type PageFile struct {
	Filename       string
	URL            string // absolute path or absolute URL, no fragment
	Hashes         map[string]string
	RequiresPython string
	Size           int64     // bytes; negative: unknown (an HTML-only upstream's file not cached yet)
	UploadTime     time.Time // zero: unknown
	Yanked         bool
	YankedReason   string
	// CoreMetadata is the sha256 of the PEP 658 metadata file served at
	// URL+".metadata", or "" when there is none.
	CoreMetadata string
}
