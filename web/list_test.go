package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/dist"
)

// TestListingIncremental: the list refreshed step by step (uploads,
// yanks, deletes, mirrored pages, generic files and their deletes) is
// always the list built from scratch.
func TestListingIncremental(t *testing.T) {
	en := publicEnv(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	l := en.ui.list
	names := func(es []*entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, fmt.Sprintf("%s/%s/%s/%v/%v", e.Name, e.Latest, e.Summary, e.Mirrored, e.Generic))
		}
		return out
	}
	for step := range 60 {
		p := fmt.Sprintf("p%02d", rng.IntN(15))
		switch rng.IntN(7) {
		case 0, 1:
			en.release(p, fmt.Sprintf("1.%d", step), dist.Metadata{Summary: fmt.Sprintf("s%d", step)}, "")
		case 2:
			_, _ = en.cat.DeleteProjectRows(ctx, p, index.Actor{Name: "t"})
		case 3:
			if _, _, err := en.cat.PutMirrorPage(ctx, &index.MirrorProject{Name: p, FetchedAt: time.Now(), ChangedAt: time.Now(), Versions: []string{"1"}}); err != nil {
				t.Fatal(err)
			}
		case 4:
			_, _ = en.cat.Yank(ctx, p, fmt.Sprintf("1.%d", rng.IntN(step+1)), "y", index.Actor{Name: "t"})
		case 5: // a generic package, which may share a project's name
			sum := fmt.Sprintf("%064d", step)
			if _, _, err := en.cat.AddGenericFile(ctx, index.NewGenericFile{Name: p, Version: fmt.Sprintf("2.%d", step), Filename: "f.zip",
				Size: 1, SHA256: sum, BlobKey: "sha256/" + sum, UploadedBy: "t"}); err != nil {
				t.Fatal(err)
			}
		case 6:
			if g, vs, err := en.cat.GenericVersions(ctx, p); err == nil && len(vs) > 0 {
				if _, err := en.cat.DeleteGenericRows(ctx, g.Name, vs[0].Version, "", index.Actor{Name: "t"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		inc, err := l.snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		full, err := l.refresh(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(inc.byName), names(full.byName)) || !slices.Equal(names(inc.byUpload), names(full.byUpload)) {
			t.Fatalf("step %d: incremental\n %v\n %v\nfrom scratch\n %v\n %v", step, names(inc.byName), names(inc.byUpload), names(full.byName), names(full.byUpload))
		}
	}
}
