package testkit

import (
	"testing"
	"time"
)

// Until calls cond every tick until it reports true, and fails tb when that
// has not happened within limit; cond's string says what it saw last. The
// limit only fails a test that hangs: no test asserts how fast something
// happens.
func Until(tb testing.TB, what string, limit, tick time.Duration, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not reached within %v; last seen: %s", what, limit, seen)
		}
		time.Sleep(tick)
	}
}
