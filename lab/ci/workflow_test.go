// Package ci tests the service's GitHub Actions workflow: it must keep
// running .ci/run, so that a failing check fails the workflow.
package ci

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Paths from this directory to the service's GitHub Actions workflow and to
// the script it must run.
const (
	workflowFile = "../../.github/workflows/ci.yml"
	ciRunFile    = "../../.ci/run"
)

// workflow is the part of a GitHub Actions workflow that the test reads.
type workflow struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		RunsOn          string         `yaml:"runs-on"`
		ContinueOnError any            `yaml:"continue-on-error"`
		If              string         `yaml:"if"`
		Steps           []workflowStep `yaml:"steps"`
	} `yaml:"jobs"`
}

// workflowStep is one step of a workflow job.
type workflowStep struct {
	Uses            string            `yaml:"uses"`
	Run             string            `yaml:"run"`
	With            map[string]string `yaml:"with"`
	If              string            `yaml:"if"`
	ContinueOnError any               `yaml:"continue-on-error"`
}

// TestWorkflowRunsTheChecks keeps the GitHub Actions workflow running what
// .ci/run runs: on every push and pull request, with the Go that go.mod
// names, as root (it installs Debian packages) with that Go on PATH, and in
// a step whose failure fails the job.
func TestWorkflowRunsTheChecks(t *testing.T) {
	data, err := os.ReadFile(workflowFile)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("%s: %v", workflowFile, err)
	}
	for _, event := range []string{"push", "pull_request"} {
		if _, ok := wf.On[event]; !ok {
			t.Errorf("%s does not run on %s", workflowFile, event)
		}
	}

	var found bool
	for name, job := range wf.Jobs {
		ciRun := slices.IndexFunc(job.Steps, func(s workflowStep) bool {
			return runsCIRun(s.Run)
		})
		if ciRun < 0 {
			continue
		}
		found = true
		step := job.Steps[ciRun]
		if job.If != "" || job.ContinueOnError != nil || step.If != "" || step.ContinueOnError != nil {
			t.Errorf("job %s: the .ci/run step or its job has an if or continue-on-error, so a failing check may not fail the workflow", name)
		}
		if !strings.HasPrefix(job.RunsOn, "ubuntu-") {
			t.Errorf("job %s runs on %q; .ci/run needs apt-get (ubuntu-latest)", name, job.RunsOn)
		}
		if !strings.Contains(step.Run, "sudo") || !strings.Contains(step.Run, `"PATH=$PATH"`) {
			t.Errorf("job %s runs %q; .ci/run needs root (apt-get) and setup-go's Go on PATH, which sudo's secure_path drops", name, step.Run)
		}
		var checkout, setupGo bool
		for _, s := range job.Steps[:ciRun] {
			checkout = checkout || strings.HasPrefix(s.Uses, "actions/checkout@")
			setupGo = setupGo || (strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version-file"] == "go.mod")
		}
		if !checkout || !setupGo {
			t.Errorf("job %s: before .ci/run, checkout = %v and setup-go with go-version-file: go.mod = %v; want both", name, checkout, setupGo)
		}
	}
	if !found {
		t.Errorf("no job of %s runs .ci/run (a step with `bash .ci/run`), so the workflow would not run the project's checks", workflowFile)
	}
	if _, err := os.Stat(ciRunFile); err != nil {
		t.Errorf("the workflow runs .ci/run: %v", err)
	}
}

// runsCIRun reports whether the shell script run calls `bash .ci/run`.
func runsCIRun(run string) bool {
	f := strings.Fields(run)
	for i := range len(f) - 1 {
		if f[i] == "bash" && f[i+1] == ".ci/run" {
			return true
		}
	}
	return false
}
