package main

import (
	"errors"
	"fmt"

	"github.com/pyindex/pyindex/index"
)

// startError explains a failure to start the server where an operator
// needs more than the error: a catalog written by a newer pyindex (a
// downgrade, which is refused: migrations only go forward).
func startError(err error, cfg Config) error {
	if errors.Is(err, index.ErrSchemaTooNew) {
		return fmt.Errorf(`refusing to start: the catalog in %s was written by a newer pyindex than this one (%s).
Downgrades are not supported: a newer pyindex may have changed the catalog in ways this one does not understand.
Run the newer pyindex again, or restore a backup taken before the upgrade (pyindex restore).
Detail: %w`, cfg.Data, Version(), err)
	}
	return err
}
