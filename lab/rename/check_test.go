package rename

import (
	"strings"
	"testing"
)

// checkCase is an argument and the error it must give ("": none).
type checkCase struct {
	arg     string
	wantErr string
}

func TestCheckName(t *testing.T) {
	runChecks(t, CheckName, []checkCase{
		{"orders", ""},
		{"order-service", ""},
		{"svc2", ""},
		{"a", ""},
		{strings.Repeat("a", MaxNameLen), ""},
		{"", "empty"},
		{strings.Repeat("a", MaxNameLen+1), "at most 40"},
		{"Orders", "'O' is not allowed"},
		{"order_service", "'_' is not allowed"},
		{"orders.v2", "'.' is not allowed"},
		{"2fa", "start with a lowercase letter"},
		{"-orders", "start with a lowercase letter"},
		{"orders-", "end with a letter or a digit"},
	})
}

func TestCheckModulePath(t *testing.T) {
	runChecks(t, CheckModulePath, []checkCase{
		{"github.com/acme/orders", ""},
		{"github.com/Acme/Orders", ""},
		{"example.com/orders", ""},
		{"example.com", ""},
		{"git.acme.internal/team/orders-svc", ""},
		{"github.com/acme/orders/v2", ""},
		{"github.com/acme/orders/v10", ""},
		{"github.com/acme/v1.5-tools", ""},
		{"", "empty"},
		{"orders", "no dot"},
		{"GitHub.com/acme/orders", "only lowercase"},
		{"-x.com/orders", "starts with '-'"},
		{"github.com/acme/orders/", "empty path element"},
		{"/github.com/acme", "empty path element"},
		{"github.com//orders", "empty path element"},
		{"github.com/acme/../orders", `path element ".."`},
		{"github.com/acme/.orders", "starts or ends with a dot"},
		{"github.com/acme/orders.", "starts or ends with a dot"},
		{"github.com/acme/my orders", `holds ' '`},
		{"github.com/acme/orders@v1", `holds '@'`},
		{`github.com\acme\orders`, `holds '\\'`},
		{"github.com/acme/con", "Windows reserves"},
		{"github.com/acme/LPT1.txt", "Windows reserves"},
		{"github.com/acme/ORDERS~1", "Windows short name"},
		{"github.com/acme/orders/v1", "major version suffix"},
		{"github.com/acme/orders/v0", "major version suffix"},
		{"github.com/acme/orders/v02", "major version suffix"},
		{"github.com/acme/orders/v2.1", "major version suffix"},
		{"gopkg.in/orders.v2", "gopkg.in"},
	})
}

func TestRepoRoot(t *testing.T) {
	tests := map[string]string{
		"github.com/acme/orders":     "github.com/acme/orders",
		"github.com/acme/orders/v2":  "github.com/acme/orders",
		"github.com/acme/orders/v12": "github.com/acme/orders",
		"github.com/acme/v2":         "github.com/acme",
		"github.com/acme/orders/v1":  "github.com/acme/orders/v1",
	}
	for path, want := range tests {
		if got := RepoRoot(path); got != want {
			t.Errorf("RepoRoot(%q) = %q, want %q", path, got, want)
		}
	}
}

func runChecks(t *testing.T, check func(string) error, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			err := check(tt.arg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("no error, want one containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}
