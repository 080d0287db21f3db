package main_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	pyindex "github.com/pyindex/pyindex/cmd/pyindex"
	"github.com/pyindex/pyindex/index"
)

// TestCatalogChangeMetrics checks that /metrics exports the change
// notifications and the propagation of another process's change: a
// commit by a second catalog on the data folder (as the CLI makes) is
// measured once the server has seen it.
func TestCatalogChangeMetrics(t *testing.T) {
	data := t.TempDir()
	m, stop := runOn(t, data, false, func(*pyindex.Config) {})
	defer stop()
	cli, err := index.Open(context.Background(), filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, _, err := cli.AddFile(context.Background(), index.NewFile{Project: "cli-made", Version: "1.0",
		Filename: "cli_made-1.0.tar.gz", PackageType: "sdist", PythonVersion: "source", Size: 1,
		SHA256: strings.Repeat("a", 64), BlobKey: "k", UploadedBy: "cli"}); err != nil {
		t.Fatal(err)
	}
	get(t, m.URL()+"/simple/cli-made/", "", "") // the server sees the change
	_, metrics := get(t, m.URL()+"/metrics", "", "")
	for _, want := range []string{
		`pyindex_catalog_change_notifications_total{engine="sqlite"} 0`,
		fmt.Sprintf(`pyindex_catalog_change_propagation_seconds_count{engine="sqlite"} %d`, 1),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
