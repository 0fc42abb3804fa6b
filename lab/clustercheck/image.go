package clustercheck

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"runtime"
	"strings"
	"time"
)

// Image is a FROM-scratch image holding one static binary.
type Image struct {
	Name       string   // full reference: docker.io/library/ginstarter:e2e-1
	Binary     string   // path of the static binary on this machine
	Entrypoint string   // path of the binary in the image: /ginstarter
	User       string   // numeric user:group, "" for root
	Dirs       []string // empty directories to create (tmp)
}

// WriteOCIArchive writes the image as an OCI image layout in a tar archive,
// which `ctr images import` reads: one uncompressed layer, a config, a
// manifest and an index that names the image.
func (img Image) WriteOCIArchive(out string) error {
	bin, err := os.ReadFile(img.Binary)
	if err != nil {
		return err
	}
	epoch := time.Unix(0, 0).UTC()
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	for _, d := range img.Dirs {
		if err := lw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o1777, ModTime: epoch}); err != nil {
			return err
		}
	}
	name := strings.TrimPrefix(img.Entrypoint, "/")
	if err := lw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o555, Size: int64(len(bin)), ModTime: epoch}); err != nil {
		return err
	}
	if _, err := lw.Write(bin); err != nil {
		return err
	}
	if err := lw.Close(); err != nil {
		return err
	}

	blobs := map[string][]byte{}
	add := func(b []byte) (string, int) {
		sum := sha256.Sum256(b)
		d := "sha256:" + hex.EncodeToString(sum[:])
		blobs[d] = b
		return d, len(b)
	}
	type descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int               `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Platform    map[string]string `json:"platform,omitempty"`
	}
	layerDigest, layerSize := add(layer.Bytes())
	config, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"User":       img.User,
			"Entrypoint": []string{img.Entrypoint},
			"WorkingDir": "/",
		},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{layerDigest}},
	})
	if err != nil {
		return err
	}
	configDigest, configSize := add(config)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: configDigest, Size: configSize},
		"layers":        []descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: layerDigest, Size: layerSize}},
	})
	if err != nil {
		return err
	}
	manifestDigest, manifestSize := add(manifest)
	tag := img.Name[strings.LastIndex(img.Name, ":")+1:]
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"manifests": []descriptor{{
			MediaType: "application/vnd.oci.image.manifest.v1+json",
			Digest:    manifestDigest,
			Size:      manifestSize,
			Annotations: map[string]string{
				"io.containerd.image.name":          img.Name,
				"org.opencontainers.image.ref.name": tag,
			},
			Platform: map[string]string{"architecture": runtime.GOARCH, "os": "linux"},
		}},
	})
	if err != nil {
		return err
	}

	f, err := os.Create(out) //nolint:gosec // G304: the archive the caller names
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }() // on an early return; the last line reports the Close that counts
	tw := tar.NewWriter(f)
	file := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o444, Size: int64(len(b)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := file("index.json", index); err != nil {
		return err
	}
	for _, d := range []string{layerDigest, configDigest, manifestDigest} {
		if err := file(path.Join("blobs/sha256", strings.TrimPrefix(d, "sha256:")), blobs[d]); err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
