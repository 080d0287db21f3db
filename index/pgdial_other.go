//go:build !linux

package index

import "time"

// setUserTimeout does nothing where TCP_USER_TIMEOUT is not known: the
// keepalives alone find a silent server there.
func setUserTimeout(uintptr, time.Duration) error { return nil }
