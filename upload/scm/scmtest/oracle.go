package scmtest

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Row is one line of an oracle TSV written by scm-oracle.sh.
type Row struct {
	Engine, Case, Description, Config, Env       string
	Describe, Tag, Distance, Dirty, Branch, Head string
	CommitDate, VersionScheme, LocalScheme       string
	// Version is the version get_version returned, or
	// "ERROR:<ExceptionType>: <first line of the message>".
	Version, Notes string
	// Line is the 1-based line number in the file.
	Line int
}

// ReadTSV reads an oracle TSV. Cells equal to "-" are returned as "".
func ReadTSV(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows []Row
	line := 0
	for sc.Scan() {
		line++
		if line == 1 {
			if !strings.HasPrefix(sc.Text(), "engine\tcase\t") {
				return nil, fmt.Errorf("%s: unexpected header %q", path, sc.Text())
			}
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 16 {
			return nil, fmt.Errorf("%s:%d: %d columns, want 16", path, line, len(c))
		}
		for i := range c {
			if c[i] == "-" {
				c[i] = ""
			}
		}
		rows = append(rows, Row{
			Engine: c[0], Case: c[1], Description: c[2], Config: c[3], Env: c[4],
			Describe: c[5], Tag: c[6], Distance: c[7], Dirty: c[8], Branch: c[9], Head: c[10],
			CommitDate: c[11], VersionScheme: c[12], LocalScheme: c[13],
			Version: c[14], Notes: c[15], Line: line,
		})
	}
	return rows, sc.Err()
}
