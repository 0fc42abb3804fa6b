// Command pause is the cluster's sandbox ("pause") image: the first process
// of every pod, which holds the pod's namespaces and does nothing else until
// it is told to stop. It is static and runs from a FROM-scratch image, so the
// node pulls nothing.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 of the pod, reap any orphan that ends up here.
	signal.Ignore(syscall.SIGCHLD)
	<-stop
}
