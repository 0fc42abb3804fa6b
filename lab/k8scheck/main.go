// Command k8scheck holds the Go parts of lab/k8scheck/validate-manifests.
//
//	k8scheck schemas -openapi swagger.json -crds DIR -out DIR
//	    writes kubeconform schemas for every kind of the Kubernetes API and
//	    for every CustomResourceDefinition in the YAML files of DIR
//	k8scheck namespaces FILE...
//	    prints the namespaces that the objects in FILE are placed in
//	k8scheck freeports N
//	    prints N TCP ports that are free on 127.0.0.1
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/ginstarter/ginstarter/lab/k8scheck/kubeschema"
	"github.com/ginstarter/ginstarter/lab/k8scheck/manifest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "k8scheck:", err)
		os.Exit(1)
	}
}

const usage = "usage: k8scheck schemas -openapi FILE -crds DIR -out DIR | namespaces FILE... | freeports N"

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "schemas":
		return schemas(args[1:], stdout)
	case "namespaces":
		return namespaces(args[1:], stdout)
	case "freeports":
		return freeports(args[1:], stdout)
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// dirs is a repeatable flag.
type dirs []string

func (d *dirs) String() string     { return fmt.Sprint(*d) }
func (d *dirs) Set(s string) error { *d = append(*d, s); return nil }

func schemas(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("schemas", flag.ContinueOnError)
	openapi := fs.String("openapi", "", "OpenAPI v2 document of the Kubernetes API (swagger.json)")
	out := fs.String("out", "", "directory to write the schemas into")
	var crdDirs dirs
	fs.Var(&crdDirs, "crds", "directory of CustomResourceDefinition YAML files (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *openapi == "" || *out == "" {
		return errors.New("schemas: -openapi and -out are required")
	}
	defs, err := readSwagger(*openapi)
	if err != nil {
		return err
	}
	set, err := defs.Kinds()
	if err != nil {
		return err
	}
	builtin := len(set)
	for _, dir := range crdDirs {
		if err := addCRDs(defs, set, dir); err != nil {
			return err
		}
	}
	if err := set.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %d schemas (%d built-in kinds, %d from CRDs) to %s\n",
		len(set), builtin, len(set)-builtin, *out)
	return nil
}

func readSwagger(path string) (kubeschema.Definitions, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defs, err := kubeschema.ReadSwagger(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return defs, nil
}

// addCRDs adds the schemas of the CRDs in the YAML files of dir to set.
func addCRDs(defs kubeschema.Definitions, set kubeschema.Set, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no .yaml files", dir)
	}
	for _, file := range files {
		crds, err := readCRDs(defs, file)
		if err != nil {
			return err
		}
		for name, schema := range crds {
			if _, dup := set[name]; dup {
				return fmt.Errorf("%s: %s is defined twice", file, name)
			}
			set[name] = schema
		}
	}
	return nil
}

func readCRDs(defs kubeschema.Definitions, file string) (kubeschema.Set, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return defs.CRDs(bytes.NewReader(b), file)
}

func namespaces(files []string, stdout io.Writer) error {
	if len(files) == 0 {
		return errors.New("namespaces: no files given")
	}
	var all []string
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		objects, err := manifest.Decode(bytes.NewReader(b), file)
		if err != nil {
			return err
		}
		for _, ns := range manifest.Namespaces(objects) {
			if !slices.Contains(all, ns) {
				all = append(all, ns)
			}
		}
	}
	slices.Sort(all)
	for _, ns := range all {
		fmt.Fprintln(stdout, ns)
	}
	return nil
}

// freeports prints n distinct ports that the kernel reports free on
// 127.0.0.1. All n are held open until the last is found, so that they differ.
func freeports(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("freeports: want one argument, the number of ports")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return fmt.Errorf("freeports: %q is not a positive number", args[0])
	}
	var lc net.ListenConfig
	var held []net.Listener
	defer func() {
		for _, l := range held {
			_ = l.Close() // held only to keep the port taken: nothing to flush
		}
	}()
	for range n {
		l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		held = append(held, l)
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return fmt.Errorf("freeports: listener address %v is a %T", l.Addr(), l.Addr())
		}
		fmt.Fprintln(stdout, addr.Port)
	}
	return nil
}
