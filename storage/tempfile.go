package storage

import "os"

// TempFile marks the reader given to Store.Put as a temporary file that
// the caller will only close and remove afterwards, positioned at its
// start. A backend that can (the filesystem backend, on the same file
// system) then takes the file over with a hard link instead of copying it:
// a 1 GiB upload is written to disk once, not twice. Other backends read it
// like any reader.
type TempFile struct{ *os.File }
