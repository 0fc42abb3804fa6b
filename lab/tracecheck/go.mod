module github.com/ginstarter/ginstarter/lab/tracecheck

go 1.26.8

require github.com/ginstarter/ginstarter v0.0.0

require (
	github.com/prometheus/client_model v0.6.3 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

// The service's own module, for its internal/testkit: the harness that
// builds the service's binary and runs it.
replace github.com/ginstarter/ginstarter => ../../
