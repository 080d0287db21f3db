//go:build race

package dist

// raceEnabled is true when tests run under the race detector, which makes
// inflating tens of MiB too slow for a unit test.
const raceEnabled = true
