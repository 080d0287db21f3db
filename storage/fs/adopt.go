package fs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errCannotAdopt makes Put fall back to copying.
var errCannotAdopt = errors.New("cannot adopt the file")

// adopt stores the temporary file src under the final name p by linking it
// (see storage.TempFile): a temp name in p's directory, fsync, rename,
// fsync of the directory, as Put does for a copy. It returns
// errCannotAdopt, having changed nothing, when src is not a regular file
// of exactly size bytes at offset 0 or cannot be linked there (another
// file system, a file system without hard links).
func (f *FS) adopt(ctx context.Context, p string, src *os.File, size int64) error {
	fi, err := src.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return errCannotAdopt
	}
	if off, err := src.Seek(0, io.SeekCurrent); err != nil || off != 0 {
		return errCannotAdopt
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return errCannotAdopt
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, tempPrefix+hex.EncodeToString(rnd[:]))
	if err := os.Link(src.Name(), tmp); err != nil {
		return errCannotAdopt
	}
	err = func() error {
		if err := os.Chmod(tmp, fileMode); err != nil {
			return err
		}
		if err := src.Sync(); err != nil {
			return fmt.Errorf("sync: %w", noSpace(err))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return os.Rename(tmp, p)
	}()
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("sync dir: %w", noSpace(err))
	}
	return nil
}
