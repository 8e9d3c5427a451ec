package autocheck

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

func TestLoadWithoutSettingIsOff(t *testing.T) {
	s, err := Load(t.TempDir(), "builder")
	if err != nil {
		t.Fatal(err)
	}
	if s != (Setting{}) {
		t.Fatalf("Load with no file = %+v, want the zero Setting", s)
	}
	if s.Due(time.Now()) {
		t.Fatal("the zero Setting is due: auto-check must be off by default")
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := Setting{IntervalMinutes: 5, LastShown: time.Date(2026, 3, 4, 12, 1, 2, 3, time.UTC)}
	if err := Save(dir, "builder", want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, "builder")
	if err != nil {
		t.Fatal(err)
	}
	if got.IntervalMinutes != want.IntervalMinutes || !got.LastShown.Equal(want.LastShown) {
		t.Fatalf("Load = %+v, want %+v", got, want)
	}
	if other, _ := Load(dir, "reviewer"); other != (Setting{}) {
		t.Fatalf("another name sees %+v: settings must be per name", other)
	}
	// Saving again replaces the setting whole.
	if err := Save(dir, "builder", Setting{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := Load(dir, "builder"); got != (Setting{}) {
		t.Fatalf("after saving the zero Setting, Load = %+v", got)
	}
}

func TestFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := t.TempDir()
	if err := Save(dir, "builder", Setting{IntervalMinutes: 1}); err != nil {
		t.Fatal(err)
	}
	if err := SaveWake(dir, "builder", Wake{Seq: 7}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o700 {
		t.Errorf("folder mode %o, want 700", m)
	}
	for _, f := range []string{"builder.json", "builder.wake.json"} {
		fi, err := os.Stat(filepath.Join(Dir(dir), f))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode %o, want 600", f, m)
		}
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(Dir(dir))
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("autocheck folder holds %v, want only the two files", names)
	}
}

func TestDue(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		s    Setting
		want bool
	}{
		{"off", Setting{LastShown: now.Add(-time.Hour)}, false},
		{"negative interval is off", Setting{IntervalMinutes: -1}, false},
		{"never shown", Setting{IntervalMinutes: 5}, true},
		{"shown just now", Setting{IntervalMinutes: 5, LastShown: now}, false},
		{"shown a moment too recently", Setting{IntervalMinutes: 5, LastShown: now.Add(-5*time.Minute + time.Second)}, false},
		{"exactly the interval ago", Setting{IntervalMinutes: 5, LastShown: now.Add(-5 * time.Minute)}, true},
		{"long ago", Setting{IntervalMinutes: 5, LastShown: now.Add(-time.Hour)}, true},
		{"clock set back", Setting{IntervalMinutes: 5, LastShown: now.Add(time.Hour)}, true},
		// Intervals past what a time.Duration holds (about 292 years)
		// wrapped round to a negative one, and then to zero.
		{"absurd interval, shown just now", Setting{IntervalMinutes: 153722868, LastShown: now}, false},
		{"absurd interval, shown a year ago", Setting{IntervalMinutes: 1 << 40, LastShown: now.AddDate(-1, 0, 0)}, false},
		{"largest interval, shown just now", Setting{IntervalMinutes: math.MaxInt, LastShown: now}, false},
		{"absurd interval, never shown", Setting{IntervalMinutes: 1 << 40}, true},
	}
	for _, c := range cases {
		if got := c.s.Due(now); got != c.want {
			t.Errorf("%s: Due = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestInvalidNamesRefused(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", "../evil", "a/b", "x y", strings.Repeat("n", 33)} {
		if _, err := Load(dir, name); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("Load(%q) = %v, want invalid_name", name, err)
		}
		if err := Save(dir, name, Setting{IntervalMinutes: 1}); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("Save(%q) = %v, want invalid_name", name, err)
		}
		if err := SaveWake(dir, name, Wake{}); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("SaveWake(%q) = %v, want invalid_name", name, err)
		}
		if _, _, err := Claim(dir, name); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("Claim(%q) = %v, want invalid_name", name, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("invalid names wrote %d entries into the data folder", len(entries))
	}
}

func TestNegativeIntervalRefused(t *testing.T) {
	if err := Save(t.TempDir(), "builder", Setting{IntervalMinutes: -5}); err == nil {
		t.Fatal("Save accepted a negative interval")
	}
}

func TestDamagedFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(Dir(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(Dir(dir), "builder.json")
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir, "builder")
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), p) {
		t.Fatalf("Load of a damaged file = %v, want ErrDamaged naming %s", err, p)
	}
	aside, err := SetAside(dir, "builder")
	if err != nil || aside != p+".damaged" {
		t.Fatalf("SetAside = %q, %v; want %s.damaged", aside, err, p)
	}
	if b, err := os.ReadFile(aside); err != nil || string(b) != "{not json" {
		t.Errorf("the file set aside holds %q, %v; want the damaged bytes, kept for a look", b, err)
	}
	if s, err := Load(dir, "builder"); err != nil || s != (Setting{}) {
		t.Errorf("Load after SetAside = %+v, %v; want auto-check off and no error", s, err)
	}
}

// TestDamagedWakeStartsAfresh: the wake state only spares a second wake for
// the same mail; a damaged one must not stop every wait.
func TestDamagedWakeStartsAfresh(t *testing.T) {
	dir := t.TempDir()
	if err := SaveWake(dir, "builder", Wake{Seq: 7}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(Dir(dir), "builder.wake.json")
	if err := os.WriteFile(p, []byte(`{"seq": 7`), 0o600); err != nil {
		t.Fatal(err)
	}
	if w, err := LoadWake(dir, "builder"); err != nil || w != (Wake{}) {
		t.Fatalf("LoadWake of a damaged file = %+v, %v; want the zero Wake and no error", w, err)
	}
	if err := SaveWake(dir, "builder", Wake{Seq: 9}); err != nil {
		t.Fatal(err)
	}
	if w, err := LoadWake(dir, "builder"); err != nil || w.Seq != 9 {
		t.Fatalf("LoadWake after saving over the damaged file = %+v, %v; want seq 9", w, err)
	}
}

func TestWakeRoundTripIsSeparateFromSetting(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, "builder", Setting{IntervalMinutes: 3}); err != nil {
		t.Fatal(err)
	}
	if w, err := LoadWake(dir, "builder"); err != nil || w != (Wake{}) {
		t.Fatalf("LoadWake with no file = %+v, %v", w, err)
	}
	if err := SaveWake(dir, "builder", Wake{Seq: 42}); err != nil {
		t.Fatal(err)
	}
	if w, err := LoadWake(dir, "builder"); err != nil || w.Seq != 42 {
		t.Fatalf("LoadWake = %+v, %v; want seq 42", w, err)
	}
	if s, _ := Load(dir, "builder"); s.IntervalMinutes != 3 {
		t.Fatalf("saving the wake state changed the setting to %+v", s)
	}
}

// shortDir is a temporary data folder with a path short enough for a Unix
// socket on every system.
func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "ac")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestClaimSupersedesTheEarlierWaiter(t *testing.T) {
	dir := shortDir(t)
	first, releaseFirst, err := Claim(dir, "builder")
	if err != nil {
		t.Fatal(err)
	}
	defer releaseFirst()
	if isClosed(first) {
		t.Fatal("a fresh claim is already superseded")
	}
	other, releaseOther, err := Claim(dir, "reviewer")
	if err != nil {
		t.Fatal(err)
	}
	defer releaseOther()

	second, releaseSecond, err := Claim(dir, "builder")
	if err != nil {
		t.Fatal(err)
	}
	// Claim returns once the earlier holder has let go.
	if !isClosed(first) {
		t.Fatal("the first waiter was not told to stop by the second claim")
	}
	if isClosed(second) || isClosed(other) {
		t.Fatal("the new claim, or another name's, was superseded")
	}
	// The superseded waiter's release must not remove its successor's claim.
	releaseFirst()
	third, releaseThird, err := Claim(dir, "builder")
	if err != nil {
		t.Fatal(err)
	}
	defer releaseThird()
	if !isClosed(second) {
		t.Fatal("the second waiter was not superseded by the third: the first one's release broke the claim")
	}
	if isClosed(third) {
		t.Fatal("the third claim is superseded")
	}
	releaseSecond()
}

func TestClaimAfterReleaseAndOverAStaleSocket(t *testing.T) {
	dir := shortDir(t)
	_, release, err := Claim(dir, "builder")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := os.Stat(filepath.Join(Dir(dir), "builder.wait")); !os.IsNotExist(err) {
		t.Fatalf("release left the socket behind: %v", err)
	}
	// A waiter that died without releasing leaves a file nobody listens on.
	stale := filepath.Join(Dir(dir), "builder.wait")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	ch, release, err := Claim(dir, "builder")
	if err != nil {
		t.Fatalf("claim over a stale file: %v", err)
	}
	defer release()
	if isClosed(ch) {
		t.Fatal("the new claim is superseded")
	}
}

func TestConcurrentClaimsLeaveOneHolder(t *testing.T) {
	dir := shortDir(t)
	const n = 8
	type held struct {
		ch      <-chan struct{}
		release func()
	}
	results := make(chan held, n)
	for range n {
		go func() {
			ch, release, err := Claim(dir, "builder")
			if err != nil {
				t.Error(err)
				results <- held{}
				return
			}
			results <- held{ch, release}
		}()
	}
	var all []held
	for range n {
		if h := <-results; h.ch != nil {
			all = append(all, h)
		}
	}
	live := 0
	for _, h := range all {
		if !isClosed(h.ch) {
			live++
		}
		defer h.release()
	}
	if live != 1 {
		t.Fatalf("%d of %d concurrent claims still hold the name, want exactly 1", live, len(all))
	}
}

func TestNamesDifferingInCaseKeepTheirOwnSettings(t *testing.T) {
	dir := t.TempDir()
	if err := Save(dir, "builder", Setting{IntervalMinutes: 5}); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, "Builder", Setting{IntervalMinutes: 9}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"builder": 5, "Builder": 9} {
		if got, err := Load(dir, name); err != nil || got.IntervalMinutes != want {
			t.Errorf("Load(%s) = %+v, %v; want every %d minutes", name, got, err, want)
		}
	}
	// A setting saved before file names kept case apart is still read.
	old := []byte(`{"interval_minutes": 3}`)
	if err := os.WriteFile(filepath.Join(Dir(dir), "Reviewer.json"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(dir, "Reviewer"); err != nil || got.IntervalMinutes != 3 {
		t.Errorf("Load(Reviewer) from the old file = %+v, %v; want every 3 minutes", got, err)
	}
}

func TestMarkHook(t *testing.T) {
	dir := t.TempDir()
	if _, ok := LastHook(dir, "builder"); ok {
		t.Fatal("LastHook before any hook ran says one did")
	}
	before := time.Now().Add(-time.Second)
	if err := MarkHook(dir, "builder"); err != nil {
		t.Fatal(err)
	}
	if at, ok := LastHook(dir, "builder"); !ok || at.Before(before) {
		t.Errorf("LastHook after MarkHook = %v, %v; want a time since %v", at, ok, before)
	}
	if _, ok := LastHook(dir, "reviewer"); ok {
		t.Error("a hook run for builder counts for reviewer")
	}
	if err := MarkHook(dir, "../x"); err == nil {
		t.Error("MarkHook takes a name that reaches outside the folder")
	}
}
