// Package admin holds the operator's actions on a whole index: checking
// that the catalog and the blob store agree (Fsck), backing both up and
// restoring them (Backup, Restore), and copying every blob from one store
// to another (CopyBlobs). It works on an open catalog and store and
// returns typed reports; it prints nothing, so the CLI and any other
// caller decide how to show what it found.
package admin
