package rename

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// listFiles returns the regular files to consider, slash-separated and
// relative to dir. In a git work tree they are the files git tracks or
// would track (not the ignored ones, such as .env), and uncommitted changes
// stop the rename unless force is set: then git diff shows what the rename
// did and git checkout undoes it. Elsewhere (gonew's output has no .git)
// they are every file under dir.
func listFiles(ctx context.Context, root *os.Root, force bool) (files []string, git bool, err error) {
	dir := root.Name()
	if _, err := gitOutput(ctx, dir, "rev-parse", "--is-inside-work-tree"); err != nil {
		files, err = walkFiles(root)
		return files, false, err
	}
	status, err := gitOutput(ctx, dir, "status", "--porcelain", "--", ".")
	if err != nil {
		return nil, true, err
	}
	if lines := strings.Split(strings.TrimSpace(status), "\n"); status != "" && !force {
		return nil, true, fmt.Errorf("%s has uncommitted changes (%d, first %q): commit or stash them, so that git diff shows the rename and git checkout undoes it, or pass -force", dir, len(lines), strings.TrimSpace(lines[0]))
	}
	out, err := gitOutput(ctx, dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, true, err
	}
	seen := make(map[string]bool)
	for rel := range strings.SplitSeq(strings.TrimRight(out, "\x00"), "\x00") {
		// Files deleted in the work tree are still listed as cached, an
		// unmerged file is listed once per stage, and symbolic links are
		// not followed.
		fi, err := root.Lstat(filepath.FromSlash(rel))
		if err == nil && fi.Mode().IsRegular() && !seen[rel] {
			seen[rel] = true
			files = append(files, rel)
		}
	}
	return files, true, nil
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	var stderr bytes.Buffer
	//nolint:gosec // G204: git, with arguments of this package, in the directory the user named.
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

func walkFiles(root *os.Root) ([]string, error) {
	var files []string
	err := fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return fs.SkipDir
		case d.Type().IsRegular():
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root.Name(), err)
	}
	return files, nil
}
