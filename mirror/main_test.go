package mirror_test

import (
	"os"
	"testing"

	"github.com/pyindex/pyindex/index/indextest"
)

// TestMain runs the tests on a SQLite catalog, then on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(indextest.Main(m)) }
