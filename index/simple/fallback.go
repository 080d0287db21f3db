package simple

import (
	"errors"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/cache"
)

// While the catalog is unavailable (PostgreSQL down, restarting, failing
// over: index.ErrUnavailable), the read side keeps serving what it knows,
// as the mirror does when its upstream fails: the newest rendering of each
// page (both formats) and the row of each file it has served, with their
// last known content. Anything else needs the catalog and gets 503 with
// the catalog's one-line reason.
//
// The newest renderings are remembered when they are rendered (once per
// change of a page), and file rows when a download finds one that differs
// from the remembered row; a page-cache hit costs nothing more. Both maps
// are bounded, like the caches they shadow.

// lastKey names a page whatever its serial: "" is the root index.
type lastKey struct {
	name string
	json bool
}

// lastPage is the newest rendering of a page and the serial it is of.
type lastPage struct {
	p      *page
	serial int64
}

// lastKnown holds what the read side serves while the catalog is
// unavailable.
type lastKnown struct {
	pages *cache.Map[lastKey, lastPage]
	files *cache.Map[string, *index.File]
	api   *cache.Map[apiKey, *apiProject]
}

// apiKey names a JSON API answer: of the project name, of its release
// version (canonical; "" for the project's own answer), with links under
// base.
type apiKey struct {
	name, version, base string
}

// apiKnownMax bounds the JSON API answers kept: they hold every release
// of a project, and are asked for less than pages.
const apiKnownMax = 512

func newLastKnown(pages int) lastKnown {
	return lastKnown{pages: cache.New[lastKey, lastPage](pages), files: cache.New[string, *index.File](fileCacheMax),
		api: cache.New[apiKey, *apiProject](apiKnownMax)}
}

// rememberAPI keeps a JSON API answer just sent (the JSON API is read
// from the catalog on every request, so this adds nothing measurable).
func (k lastKnown) rememberAPI(key apiKey, out *apiProject) { k.api.Put(key, out) }

// apiAnswer returns the last JSON API answer of key when err says the
// catalog is unavailable.
func (k lastKnown) apiAnswer(err error, key apiKey) (*apiProject, bool) {
	if !errors.Is(err, index.ErrUnavailable) {
		return nil, false
	}
	return k.api.Get(key)
}

// rememberPage keeps p, of key's page at serial, unless a newer rendering
// is remembered already. Only hosted pages and the root index are kept.
func (k lastKnown) rememberPage(key pageKey, p *page) {
	if key.source != 'h' {
		return
	}
	k.pages.Update(lastKey{key.name, key.json}, func(cur lastPage, ok bool) (lastPage, bool) {
		return lastPage{p, key.serial}, !ok || key.serial >= cur.serial
	})
}

// page returns the newest rendering of the page name ("" for the root)
// when err says the catalog is unavailable.
func (k lastKnown) page(err error, name string, json bool) (lastPage, bool) {
	if !errors.Is(err, index.ErrUnavailable) {
		return lastPage{}, false
	}
	return k.pages.Get(lastKey{name, json})
}

// rememberFile keeps the row of a file just served. A download of a file
// whose row is kept already costs one map read (about 40ns): the fields
// compared are those a download is served from.
func (k lastKnown) rememberFile(f *index.File) {
	if cur, ok := k.files.Get(f.Filename); ok && cur.ID == f.ID && cur.SHA256 == f.SHA256 && cur.BlobKey == f.BlobKey &&
		cur.MetadataKey == f.MetadataKey && cur.MetadataSHA256 == f.MetadataSHA256 && cur.Project == f.Project &&
		cur.UploadTime.Equal(f.UploadTime) {
		return
	}
	kept := *f // allocated here only, not on every call
	k.files.Put(f.Filename, &kept)
}

// file returns the last row served of the file called name when err says
// the catalog is unavailable, and forgets it when err says it is gone.
func (k lastKnown) file(err error, name string) (index.File, bool) {
	if errors.Is(err, index.ErrNotFound) {
		if _, ok := k.files.Get(name); ok {
			k.files.Delete(name)
		}
	}
	if !errors.Is(err, index.ErrUnavailable) {
		return index.File{}, false
	}
	if f, ok := k.files.Get(name); ok {
		return *f, true
	}
	return index.File{}, false
}
