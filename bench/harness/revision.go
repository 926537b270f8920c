package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ExportRevision writes the files of git revision rev of the repository
// in the current directory into dir (which must exist), as `git archive`
// does, and returns the commit's hash. Building from it measures committed
// code, not the uncommitted changes of a working tree shared with others.
func ExportRevision(ctx context.Context, rev, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--verify", rev+"^{commit}").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse %s: %w", rev, err)
	}
	commit := strings.TrimSpace(string(out))
	archive := exec.CommandContext(ctx, "git", "archive", "--format=tar", commit)
	archive.Stderr = os.Stderr
	untar := exec.CommandContext(ctx, "tar", "-x", "-C", dir)
	untar.Stderr = os.Stderr
	if untar.Stdin, err = archive.StdoutPipe(); err != nil {
		return "", err
	}
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		untar.Wait()
		return "", fmt.Errorf("git archive %s: %w", commit, err)
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("tar -x: %w", err)
	}
	return commit, nil
}

// Describe says which code a build from the working tree measures: the
// commit, and whether tracked files differ from it.
func Describe(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "working tree (not a git checkout)"
	}
	s := "working tree at " + strings.TrimSpace(string(out))
	if exec.CommandContext(ctx, "git", "diff", "--quiet", "HEAD", "--").Run() != nil {
		s += " with uncommitted changes"
	}
	return s
}
