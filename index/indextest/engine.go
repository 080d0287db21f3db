package indextest

import (
	"database/sql"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for MarkNewerSchema

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/pgtest"
)

// EngineEnv names the environment variable that puts Catalog and
// OpenCatalog on PostgreSQL: "postgres" (the test cluster of package
// pgtest); anything else is SQLite.
const EngineEnv = "PYINDEX_TEST_CATALOG"

// Engine returns the engine this test binary's catalogs use: "sqlite" or
// "postgres".
func Engine() string {
	if os.Getenv(EngineEnv) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Main runs a test package's tests on both catalog engines, for its
// TestMain: os.Exit(indextest.Main(m)). It runs them on SQLite in this
// process, then runs this test binary again, with the same flags, with
// EngineEnv=postgres, so that every test calling Catalog or OpenCatalog
// also runs on PostgreSQL, from one go test command. Without PostgreSQL
// the second run is left out with a message (a failure with CI=true).
func Main(m *testing.M) int {
	if Engine() == "postgres" {
		fmt.Fprintln(os.Stderr, "indextest: catalog engine postgres")
		code := m.Run()
		pgtest.Stop()
		return code
	}
	code := m.Run()
	if fuzzingOrBenchmarking() {
		return code // a fuzz or benchmark run measures code, not engines
	}
	if err := pgtest.Installed(); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "indextest: the PostgreSQL run is needed (CI=true): %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "indextest: PostgreSQL run skipped: %v (apt-get install postgresql-15)\n", err)
		return code
	}
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), EngineEnv+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "indextest: PostgreSQL run: %v\n", err)
		return max(code, 1)
	}
	return code
}

// fuzzingOrBenchmarking reports whether this test binary was asked to fuzz
// (-test.fuzz) or to run benchmarks (-test.bench): such a run is not
// repeated on PostgreSQL.
func fuzzingOrBenchmarking() bool {
	for _, name := range []string{"test.fuzz", "test.bench"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return true
		}
	}
	return false
}

// SQLiteOnly skips t on PostgreSQL: for tests of a SQLite mechanism (the
// WAL-index watch, VACUUM INTO), which the SQLite run covers.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Engine() == "postgres" {
		t.Skipf("SQLite only: %s", why)
	}
}

// pgURLs maps the catalog paths tests give OpenCatalog to the PostgreSQL
// databases standing for them, so that opening a path twice opens one
// database twice, as it opens one file twice on SQLite.
var pgURLs sync.Map

// pgURL returns the database standing for path, creating it for t.
func pgURL(t testing.TB, path string) string {
	t.Helper()
	if index.IsPostgresURL(path) { // cat.Path() of a PostgreSQL catalog
		return path
	}
	if u, ok := pgURLs.Load(path); ok {
		return u.(string)
	}
	u := pgtest.URL(t)
	pgURLs.Store(path, u)
	t.Cleanup(func() { pgURLs.Delete(path) })
	return u
}

// openDB opens the database of the catalog at path (a SQLite file, or on
// PostgreSQL the database standing for it) with database/sql, for helpers
// that write what no Catalog method writes.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if Engine() == "postgres" {
		db, err = sql.Open("pgx", pgURL(t, path))
	} else {
		db, err = sql.Open("sqlite3", (&url.URL{Scheme: "file", Opaque: url.PathEscape(path)}).String()+"?_busy_timeout=5000")
	}
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// bind rewrites the "?" placeholders of query for the engine: openDB's
// connections are plain, without the catalog's rewriting.
func bind(query string) string {
	if Engine() != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CrossProcessDelay bounds how long a change committed through another
// catalog (another process or replica) may take to show in this one's
// cached lookups: none on SQLite, whose watch sees it at the next lookup;
// on PostgreSQL it travels as a notification, and the bound is a
// second.
func CrossProcessDelay() time.Duration {
	if Engine() == "postgres" {
		return time.Second
	}
	return 0
}

// Within calls ok until it returns true or CrossProcessDelay has passed,
// and returns its last answer: on SQLite it calls it once.
func Within(ok func() bool) bool {
	deadline := time.Now().Add(CrossProcessDelay())
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// AwaitChange runs change, which commits through another catalog than cat
// (as the CLI or another replica would), and on PostgreSQL waits until cat
// has been told of it (its change token moved), failing t after
// CrossProcessDelay. On SQLite cat's next lookup sees the change anyway.
func AwaitChange(t testing.TB, cat *index.Catalog, change func()) {
	t.Helper()
	before, _ := cat.ChangeToken()
	change()
	if Engine() != "postgres" {
		return
	}
	deadline := time.Now().Add(CrossProcessDelay())
	for {
		if tok, err := cat.ChangeToken(); err == nil && tok != before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change was not announced to this catalog within %s", CrossProcessDelay())
		}
		time.Sleep(time.Millisecond)
	}
}
