package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

func TestTokens(t *testing.T) {
	got := tokens("Fix the AUTH bug: auth.go line 42, x = ÉTÉ été; " + strings.Repeat("a", 41) + " ok")
	want := "fix,the,auth,bug,go,line,42,été,ok"
	if strings.Join(got, ",") != want {
		t.Fatalf("tokens = %v, want %s", got, want)
	}
	many := ""
	for i := range 700 {
		many += " w" + strings.Repeat("x", i%30) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
	}
	if n := len(tokens(many)); n != maxMessageWords {
		t.Fatalf("%d tokens, want the cap %d", n, maxMessageWords)
	}
}

// searchFixture is a store with direct mail and channel posts among alice,
// bob and carol.
func searchFixture(t *testing.T) (*Store, *clock) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 300 })
	register(t, s, "alice", "bob", "carol")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"bob"}})
	mustCreate(t, s, ipcmesh.Channel{Name: "secret", CreatedBy: "carol", Private: true})
	send(t, s, "d1", "alice", "bob", "the deploy is broken")          // alice+bob
	clk.Advance(time.Hour)                                            //
	send(t, s, "d2", "carol", "bob", "deploy broken again, rollback") // carol+bob
	clk.Advance(time.Hour)                                            //
	post(t, s, "p1", "bob", "dev", "Deploy: BROKEN on staging")       // dev
	clk.Advance(time.Hour)                                            //
	post(t, s, "p2", "carol", "secret", "the deploy is broken, tell no one")
	clk.Advance(time.Hour)
	send(t, s, "d3", "bob", "alice", "deploy fixed "+strings.Repeat("and more words ", 400)+"broken at the end")
	return s, clk
}

func TestSearch(t *testing.T) {
	for _, indexed := range []bool{true, false} {
		name := "indexed"
		if !indexed {
			name = "unindexed tail"
		}
		t.Run(name, func(t *testing.T) {
			s, clk := searchFixture(t)
			ctx := context.Background()
			if indexed {
				if err := s.WaitIndexed(ctx); err != nil {
					t.Fatal(err)
				}
			} else {
				// With the indexer stopped everything is tail.
				s.idx.close()
			}
			base := clk.Now().Add(-4 * time.Hour)
			for _, c := range []struct {
				q    Query
				want string
			}{
				{Query{Words: "deploy broken", Reader: "bob", Channels: []string{"dev"}}, "p1,d2,d1"},
				{Query{Words: "BROKEN deploy", Reader: "alice", Channels: []string{"dev"}}, "p1,d1"},
				{Query{Words: "deploy broken", Reader: "carol", Channels: []string{"secret"}}, "p2,d2"},
				// The end of a large body's long line is not in its summary.
				{Query{Words: "deploy fixed", Reader: "alice"}, "d3"},
				{Query{Words: "deploy end", Reader: "alice"}, ""},
				{Query{Words: "deploy broken staging", Reader: "bob", Channels: []string{"dev"}}, "p1"},
				{Query{Words: "deploy nothing", Reader: "bob", Channels: []string{"dev"}}, ""},
				// Filters.
				{Query{Words: "deploy", Reader: "bob", Channels: []string{"dev"}, From: "carol"}, "d2"},
				{Query{Words: "deploy", Reader: "bob", Channels: []string{"dev"}, Channel: "dev"}, "p1"},
				{Query{Words: "deploy", Reader: "bob", Channels: []string{"dev"}, Channel: "secret"}, ""},
				{Query{Words: "deploy", Reader: "bob", Channels: []string{"dev"}, Since: base.Add(time.Hour), Until: base.Add(2 * time.Hour)}, "p1,d2"},
				{Query{Words: "deploy", Reader: "bob", Channels: []string{"dev"}, Limit: 2}, "d3,p1"},
				// No words: the filters alone.
				{Query{Reader: "bob", Channels: []string{"dev"}, From: "bob"}, "d3,p1"},
				{Query{Words: "a", Reader: "bob", Channel: "dev", Channels: []string{"dev"}}, "p1"},
				// Permission: others' mail and channels not given never match.
				{Query{Words: "rollback", Reader: "alice", Channels: []string{"dev", "secret"}[:1]}, ""},
				{Query{Words: "tell", Reader: "bob", Channels: []string{"dev"}}, ""},
				{Query{Words: "rollback", Channels: []string{"dev"}}, ""},
			} {
				got, _, err := s.Search(c.q)
				if err != nil {
					t.Fatalf("Search(%+v): %v", c.q, err)
				}
				if msgIDs(got) != c.want {
					t.Errorf("Search(%+v) = %s, want %s", c.q, msgIDs(got), c.want)
				}
			}
			_, _, err := s.Search(Query{Words: strings.Repeat("word ", 17) + "a b c d e f g h i j k l m n o p q", Reader: "bob"})
			if err != nil {
				t.Fatalf("repeated words count once: %v", err)
			}
			many := ""
			for i := range 17 {
				many += " w" + string(rune('a'+i)) + "x"
			}
			_, _, err = s.Search(Query{Words: many, Reader: "bob"})
			wantCode(t, err, ipcmesh.CodeBadRequest)
			// Words that are all ignored, and no filter: not every message.
			_, _, err = s.Search(Query{Words: "a b", Reader: "bob", Channels: []string{"dev"}})
			wantCode(t, err, ipcmesh.CodeBadRequest)
		})
	}
}

// A search mixes the indexed part and the tail, newest first, without
// duplicates.
func TestSearchIndexedAndTail(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice", "bob")
	send(t, s, "old1", "alice", "bob", "release notes")
	send(t, s, "old2", "alice", "bob", "more release notes")
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	s.idx.close()
	send(t, s, "new1", "bob", "alice", "release tomorrow, notes later")
	send(t, s, "new2", "bob", "alice", "nothing here")
	got, _, err := s.Search(Query{Words: "notes release", Reader: "bob"})
	if err != nil || msgIDs(got) != "new1,old2,old1" {
		t.Fatalf("Search = %s, %v", msgIDs(got), err)
	}
	var wm uint64
	s.db.View(func(tx *bolt.Tx) error { wm = watermark(tablesOf(tx).meta()); return nil })
	if wm != got[1].Seq {
		t.Fatalf("watermark %d, want %d (the tail was not indexed)", wm, got[1].Seq)
	}
}

// A search pages back with Before: page after page, from the indexed part
// into the tail and on, each match comes once, newest first, and More
// says until the last page that older ones match; messages sent between
// pages are newer than the first and never come.
func TestSearchPagesBack(t *testing.T) {
	for _, tc := range []struct {
		name  string
		words string
	}{{"words", "match"}, {"filters alone", ""}} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t, nil)
			ctx := context.Background()
			register(t, s, "alice", "bob")
			const total = 23
			sendSome := func(from, to int) {
				for i := from; i < to; i++ {
					send(t, s, "m"+strconv.Itoa(i), "alice", "bob", "match "+strconv.Itoa(i))
					send(t, s, "other"+strconv.Itoa(i), "alice", "carol", "match, but not for bob")
				}
			}
			sendSome(0, 13)
			if err := s.WaitIndexed(ctx); err != nil {
				t.Fatal(err)
			}
			s.idx.close() // the rest is the unindexed tail
			sendSome(13, total)
			q := Query{Words: tc.words, From: "alice", Reader: "bob", Limit: 4}
			var seen []string
			for pages := 0; ; pages++ {
				if pages > total {
					t.Fatalf("%d pages read: %v", pages, seen)
				}
				got, more, err := s.Search(q)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 || len(got) > q.Limit || more != (len(seen)+len(got) < total) {
					t.Fatalf("page %d after %v: %s, more %v", pages, seen, msgIDs(got), more)
				}
				for _, m := range got {
					seen = append(seen, m.ID)
				}
				if pages == 0 {
					send(t, s, "later", "alice", "bob", "match, sent while paging")
				}
				if !more {
					break
				}
				q.Before = got[len(got)-1].Seq
			}
			for i, id := range seen {
				if len(seen) != total || id != "m"+strconv.Itoa(total-1-i) {
					t.Fatalf("read %v; want each of the %d matches once, newest first", seen, total)
				}
			}
		})
	}
}

// The index survives a restart and catches up on what was missed.
func TestIndexCatchesUpAfterReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.idx.close() // nothing gets indexed in this run
	register(t, s, "alice", "bob")
	send(t, s, "m1", "alice", "bob", "penguin")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s, bucketWords); n != 1 {
		t.Fatalf("%d postings", n)
	}
	if got, _, _ := s.Search(Query{Words: "penguin", Reader: "alice"}); msgIDs(got) != "m1" {
		t.Fatalf("Search = %s", msgIDs(got))
	}
}

// The work per query is bounded: a common word whose matches are all
// unreadable stops after searchBudget candidates instead of walking all.
func TestSearchBudget(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice", "bob")
	n := searchBudget + 500
	for start := 0; start < n; start += 1000 {
		var ds []Draft
		for i := start; i < min(start+1000, n); i++ {
			to := "bob"
			if i == 0 {
				to = "alice" // alice's only message: the oldest
			}
			ds = append(ds, Draft{ID: "m" + strconv.Itoa(i), From: "bob", To: to, Content: "common word"})
		}
		if _, err := s.Append(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	// carol may read none of them: the walk gives up at the budget.
	got, _, err := s.Search(Query{Words: "common", Reader: "carol"})
	if err != nil || len(got) != 0 {
		t.Fatalf("Search = %d, %v", len(got), err)
	}
	// alice's only message is the oldest, past the budget: missed, as
	// documented.
	got, _, _ = s.Search(Query{Words: "common", Reader: "alice"})
	if len(got) != 0 {
		t.Fatalf("found %s past the budget", msgIDs(got))
	}
	got, _, _ = s.Search(Query{Words: "common", Reader: "bob", Limit: 500})
	if len(got) != 100 || got[0].ID != "m"+strconv.Itoa(n-1) {
		t.Fatalf("bob: %d results, first %s", len(got), got[0].ID)
	}
}

func TestShared(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 32; o.MaxMessageBytes = 1000 })
	ctx := context.Background()
	sh, err := s.Share(ctx, ipcmesh.Shared{Key: "plan:v1", Description: "the plan", Content: "step one", StoredBy: "alice"})
	if err != nil || sh.Size != 8 || sh.Content != "" || sh.StoredBy != "alice" || !sh.Time.Equal(clk.Now()) || sh.Key != "plan:v1" {
		t.Fatalf("Share = %+v, %v", sh, err)
	}
	got, err := s.GetShared("plan:v1")
	if err != nil || got.Content != "step one" || got.Description != "the plan" {
		t.Fatalf("GetShared = %+v, %v", got, err)
	}

	// Large content lives in a private file, replaced with the value.
	big := strings.Repeat("big\x00\xff", 50)
	clk.Advance(time.Minute)
	if _, err := s.Share(ctx, ipcmesh.Shared{Key: "report", Content: big, StoredBy: "bob"}); err != nil {
		t.Fatal(err)
	}
	files := sharedFiles(t, s)
	if len(files) != 1 {
		t.Fatalf("shared files %v", files)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v", fi.Mode())
		}
		if fi, _ := os.Stat(filepath.Join(s.Dir(), "shared")); fi.Mode().Perm() != 0o700 {
			t.Fatalf("dir mode %v", fi.Mode())
		}
	}
	if got, err := s.GetShared("report"); err != nil || got.Content != big || got.Size != len(big) {
		t.Fatalf("GetShared(report) = %d bytes, %v", len(got.Content), err)
	}
	if _, err := s.Share(ctx, ipcmesh.Shared{Key: "report", Content: strings.Repeat("new", 20), StoredBy: "carol"}); err != nil {
		t.Fatal(err)
	}
	if files2 := sharedFiles(t, s); len(files2) != 1 || files2[0] == files[0] {
		t.Fatalf("after replace %v (was %v)", files2, files)
	}
	if _, err := s.Share(ctx, ipcmesh.Shared{Key: "report", Content: "small now", StoredBy: "carol"}); err != nil {
		t.Fatal(err)
	}
	if files := sharedFiles(t, s); len(files) != 0 {
		t.Fatalf("file of the replaced value kept: %v", files)
	}

	list, err := s.ListShared()
	if err != nil || len(list) != 2 || list[0].Key != "plan:v1" || list[1].Key != "report" ||
		list[1].StoredBy != "carol" || list[1].Size != 9 || list[0].Content != "" {
		t.Fatalf("ListShared = %+v, %v", list, err)
	}

	_, err = s.Share(ctx, ipcmesh.Shared{Key: "huge", Content: strings.Repeat("x", 1001), StoredBy: "bob"})
	wantCode(t, err, ipcmesh.CodeTooLarge)
	_, err = s.Share(ctx, ipcmesh.Shared{Key: "../etc", Content: "x", StoredBy: "bob"})
	wantCode(t, err, ipcmesh.CodeBadRequest)
	_, err = s.Share(ctx, ipcmesh.Shared{Key: "ok", Content: "x"})
	wantCode(t, err, ipcmesh.CodeInvalidName)

	_, err = s.GetShared("plan:v2")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if e := err.(*ipcmesh.Error); len(e.Suggestions) != 1 || e.Suggestions[0] != "plan:v1" {
		t.Fatalf("suggestions %v", e.Suggestions)
	}
	_, err = s.GetShared("plan")
	if e := err.(*ipcmesh.Error); len(e.Suggestions) != 1 || e.Suggestions[0] != "plan:v1" {
		t.Fatalf("suggestions for a prefix %v", e.Suggestions)
	}
}

func sharedFiles(t *testing.T, s *Store) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.Dir(), "shared", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestSearchFarDates(t *testing.T) {
	s, _ := searchFixture(t)
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	far := time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)
	old := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	got, _, err := s.Search(Query{Words: "deploy", Reader: "bob", Since: far})
	if err != nil || len(got) != 0 {
		t.Fatalf("search since the year 2999 = %d messages, %v; want none", len(got), err)
	}
	want, _, err := s.Search(Query{Words: "deploy", Reader: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err = s.Search(Query{Words: "deploy", Reader: "bob", Since: old, Until: far})
	if err != nil || len(got) != len(want) || len(want) != 3 {
		t.Fatalf("search from the year 1000 to 2999 = %d messages, %v; want the %d of bob's direct mail without dates (3)", len(got), err, len(want))
	}
}
