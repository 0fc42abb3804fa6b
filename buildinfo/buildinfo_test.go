package buildinfo_test

import (
	"runtime"
	"testing"

	"github.com/ginstarter/ginstarter/buildinfo"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name, version, revision string
		wantVersion             string
		wantRevision            string
	}{
		{"set with ldflags", "v1.2.3", "0123abc", "v1.2.3", "0123abc"},
		// Test binaries carry no module version and no VCS stamp.
		{"nothing set", "", "", "dev", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buildinfo.New(tt.version, tt.revision)
			want := buildinfo.Info{Version: tt.wantVersion, Revision: tt.wantRevision, GoVersion: runtime.Version()}
			if got != want {
				t.Errorf("New(%q, %q) = %+v, want %+v", tt.version, tt.revision, got, want)
			}
		})
	}
}
