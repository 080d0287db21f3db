package scm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pyindex/pyindex/upload/scm/scmtest"
)

// repos holds the oracle repositories, built once per test binary.
var repos *scmtest.Repos

// testNow is the clock every test pins Options.Now to.
var testNow = time.Now()

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := exec.LookPath("git"); err != nil {
		fmt.Fprintln(os.Stderr, "scm tests need git on PATH:", err)
		return 1
	}
	work, err := os.MkdirTemp("", "scm-oracle-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	repos, err = scmtest.Build(context.Background(), work)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building the oracle repositories:", err)
		return 1
	}
	return m.Run()
}
