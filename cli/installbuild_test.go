package cli

import (
	"strings"
	"testing"
)

// TestBuildToInstallFitsTheShell: the way to build an ipcmesh that stays,
// which install names when it runs from go run's build, is commands the
// user's shell runs. On Windows "go build -o ipcmesh" makes a file that
// neither cmd nor PowerShell runs, cmd runs no ./ path, Windows
// PowerShell has no &&, and neither reads $(...).
func TestBuildToInstallFitsTheShell(t *testing.T) {
	args := []string{"claude", "--name", "builder"}
	for _, tc := range []struct {
		goos      string
		want, not []string
	}{
		{"windows", []string{"go build -o ipcmesh.exe ./cmd/ipcmesh", `.\ipcmesh.exe install claude --name builder`, "go install ./cmd/ipcmesh", `%USERPROFILE%\go\bin`}, []string{"&&", "./ipcmesh", "$(", "'"}},
		{"linux", []string{"go build -o ipcmesh ./cmd/ipcmesh && ./ipcmesh install claude --name builder", "$(go env GOPATH)/bin"}, []string{".exe", `.\`}},
		{"darwin", []string{"go build -o ipcmesh ./cmd/ipcmesh && ./ipcmesh install claude --name builder"}, []string{".exe"}},
	} {
		advice := buildToInstall(tc.goos, args)
		for _, w := range tc.want {
			if !strings.Contains(advice, w) {
				t.Errorf("%s: the advice %q does not say %q", tc.goos, advice, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(advice, n) {
				t.Errorf("%s: the advice %q says %q", tc.goos, advice, n)
			}
		}
	}
	if got := buildToInstall("windows", []string{"claude", "--name", "my name"}); !strings.Contains(got, `install claude --name "my name"`) {
		t.Errorf("windows: a word with a space is not quoted for cmd and PowerShell: %q", got)
	}
}
