package main

import (
	"os"
	"path/filepath"
	"strings"
)

// netrcLogin returns the login and password for host in the netrc file:
// $NETRC when set, else ~/.netrc. A "machine" entry for the host wins over
// "default". ok is false when the file or the entry is missing.
//
// The format is the one curl, pip and twine read: whitespace-separated
// tokens machine NAME, default, login NAME, password VALUE, account VALUE,
// and macdef NAME (whose body, up to an empty line, is skipped).
func netrcLogin(env map[string]string, host string) (login, password string, ok bool) {
	path := env["NETRC"]
	if path == "" {
		home := env["HOME"]
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return "", "", false
			}
		}
		path = filepath.Join(home, ".netrc")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", false
	}
	return parseNetrc(string(b), host)
}

func parseNetrc(text, host string) (login, password string, ok bool) {
	var (
		inMatch, inDefault     bool
		match, dflt            string
		matchLogin, dfltLogin  string
		haveMatch, haveDefault bool
	)
	lines := strings.Split(text, "\n")
	var tokens []string
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) >= 1 && f[0] == "macdef" {
			// Skip the macro body: the following lines up to an empty one.
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			}
			continue
		}
		for _, t := range f {
			if strings.HasPrefix(t, "#") {
				break
			}
			tokens = append(tokens, t)
		}
	}
	for i := 0; i < len(tokens); i++ {
		switch tokens[i] {
		case "machine":
			inDefault = false
			inMatch = i+1 < len(tokens) && strings.EqualFold(tokens[i+1], host)
			i++
		case "default":
			inMatch, inDefault = false, true
		case "login":
			if i+1 < len(tokens) {
				switch {
				case inMatch && !haveMatch:
					matchLogin = tokens[i+1]
				case inDefault && !haveDefault:
					dfltLogin = tokens[i+1]
				}
			}
			i++
		case "account":
			i++
		case "password":
			if i+1 >= len(tokens) {
				break
			}
			i++
			switch {
			case inMatch && !haveMatch:
				match, haveMatch = tokens[i], true
			case inDefault && !haveDefault:
				dflt, haveDefault = tokens[i], true
			}
		}
	}
	if haveMatch {
		return matchLogin, match, true
	}
	return dfltLogin, dflt, haveDefault
}
