// Package testkit holds what the service's tests share: the harness that
// builds the service's binary once per test process and runs it, a buffer
// for log output with a parser for its lines, a finder for series in
// gathered metrics, and a poll for a condition. Only tests import it.
package testkit
