// Package admin holds what admins and operators do to an index as a
// whole, for the JSON API, the CLI and the scheduler alike:
//
//   - Service: deletes and prunes, which change the catalog and then
//     reclaim the blobs no row references any more; Retention runs its
//     prunes on a schedule.
//   - API and DevVersionsHandler: the admin JSON API under /api/v1 and the
//     dev-number endpoint scmversion asks.
//   - Fsck, Backup, Restore and CopyBlobs: checking that the catalog and
//     the blob store agree, backing both up and restoring them, and
//     copying every blob from one store to another.
//
// Everything here works on an open catalog and store and returns typed
// results and errors; it prints nothing, so each caller decides how to
// show what it found.
package admin
