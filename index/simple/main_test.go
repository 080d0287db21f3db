package simple_test

import (
	"os"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pyindex/pyindex/index"
	"github.com/pyindex/pyindex/index/indextest"
)

func TestMain(m *testing.M) {
	index.PasswordCost = bcrypt.MinCost // fast logins under -race
	os.Exit(indextest.Main(m))          // on SQLite, then on PostgreSQL
}
