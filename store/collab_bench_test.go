package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// bigStore is a store of 100,000 messages shared by the collaboration
// benchmarks, built once per test binary run: 20 agents, 10 channels,
// half the messages channel posts, the rest direct mail, one in twenty
// replies, bodies of 8-20 words drawn from a 5,000-word vocabulary with a
// Zipf distribution, as prose has. The reader "bench" has a conversation
// of about 5,000 messages with agent01, an inbox of 5 unread and, in the 5
// channels it joined last, 20 unread posts.
type bigStore struct {
	s        *Store
	dir      string
	vocab    []string // most frequent first
	channels []string // the channels bench may read
	convSeq  uint64   // a seq in the middle of bench's conversation
	chanSeq  uint64   // a seq in the middle of ch00's history
	setup    time.Duration
	indexing time.Duration
}

const bigMessages = 100_000

var (
	bigOnce sync.Once
	big     *bigStore
	bigErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if big != nil {
		big.s.Close()
		os.RemoveAll(big.dir)
	}
	os.Exit(code)
}

func getBigStore(b *testing.B) *bigStore {
	b.Helper()
	bigOnce.Do(func() { big, bigErr = buildBigStore() })
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return big
}

func buildBigStore() (*bigStore, error) {
	dir, err := os.MkdirTemp("", "ipcmesh-bench-")
	if err != nil {
		return nil, err
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	bs := &bigStore{s: s, dir: dir}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for len(bs.vocab) < 5000 {
		n := 3 + rng.IntN(7)
		w := make([]byte, n)
		for i := range w {
			w[i] = byte('a' + rng.IntN(26))
		}
		if !seen[string(w)] {
			seen[string(w)] = true
			bs.vocab = append(bs.vocab, string(w))
		}
	}
	zipf := rand.NewZipf(rng, 1.07, 2, uint64(len(bs.vocab)-1))
	body := func() string {
		n := 8 + rng.IntN(13)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = bs.vocab[zipf.Uint64()]
		}
		return strings.Join(ws, " ")
	}
	agents := make([]string, 20)
	for i := range agents {
		agents[i] = fmt.Sprintf("agent%02d", i)
	}
	start := time.Now()
	for _, name := range append(agents, "bench") {
		if err := s.PutSession(ctx, Session{Name: name, ID: "s", Expires: time.Now().Add(time.Hour)}); err != nil {
			return nil, err
		}
	}
	var channels []string
	for i := range 10 {
		ch := fmt.Sprintf("ch%02d", i)
		channels = append(channels, ch)
		if _, err := s.CreateChannel(ctx, ipcmesh.Channel{Name: ch, CreatedBy: agents[0], Members: agents[:10]}); err != nil {
			return nil, err
		}
	}
	bs.channels = channels[:5]

	var recent []string
	appendBatch := func(ds []Draft) error {
		out, err := s.Append(ctx, ds)
		if err != nil {
			return err
		}
		var acks []string
		for i, d := range out {
			if d.Err != nil {
				return fmt.Errorf("draft %s: %w", ds[i].ID, d.Err)
			}
			if d.Message.To == "bench" {
				acks = append(acks, d.Message.ID)
			}
		}
		_, err = s.Ack(ctx, "bench", acks)
		return err
	}
	for n := 0; n < bigMessages; n += 1000 {
		ds := make([]Draft, 0, 1000)
		for i := n; i < n+1000; i++ {
			d := Draft{ID: fmt.Sprintf("m%06d", i), From: agents[rng.IntN(20)], Content: body()}
			switch r := rng.IntN(100); {
			case r < 50:
				d.Channel = channels[rng.IntN(10)]
			case r < 55:
				d.From, d.To = "bench", "agent01"
				if r%2 == 0 {
					d.From, d.To = d.To, d.From
				}
			default:
				d.To = agents[rng.IntN(20)]
			}
			if len(recent) > 100 && rng.IntN(20) == 0 {
				d.ReplyTo = recent[len(recent)-1-rng.IntN(100)]
			}
			recent = append(recent, d.ID)
			ds = append(ds, d)
		}
		if err := appendBatch(ds); err != nil {
			return nil, err
		}
		if bs.convSeq == 0 && n >= bigMessages/2 {
			msgs, _, err := s.Conversation("bench", "agent01", Page{Limit: 1})
			if err != nil {
				return nil, err
			}
			bs.convSeq = msgs[0].Seq
			hist, _, err := s.ChannelHistory("ch00", Page{Limit: 1})
			if err != nil {
				return nil, err
			}
			bs.chanSeq = hist[0].Seq
		}
	}
	for _, ch := range bs.channels {
		if _, err := s.JoinChannel(ctx, ch, []string{"bench"}); err != nil {
			return nil, err
		}
	}
	var tail []Draft
	for i := range 20 {
		tail = append(tail, Draft{ID: fmt.Sprintf("t%02d", i), From: agents[i], Channel: bs.channels[i%5], Content: body()})
	}
	for i := range 5 {
		tail = append(tail, Draft{ID: fmt.Sprintf("u%02d", i), From: agents[i], To: "bench", Content: body()})
	}
	if _, err := s.Append(ctx, tail); err != nil {
		return nil, err
	}
	bs.setup = time.Since(start)
	start = time.Now()
	if err := s.WaitIndexed(ctx); err != nil {
		return nil, err
	}
	bs.indexing = time.Since(start)
	if st, _ := s.Stats(); st.Messages != bigMessages+25 {
		return nil, fmt.Errorf("setup: %+v", st)
	}
	return bs, nil
}

func (bs *bigStore) log(b *testing.B) {
	b.Logf("100,025 messages stored in %v; indexed in the background in a further %v (%d postings)",
		bs.setup.Round(time.Millisecond), bs.indexing.Round(time.Millisecond), countKeys(b, bs.s, bucketWords))
}

// BenchmarkSearch searches 100,000 indexed messages as "bench", which may
// read its own mail and 5 of the 10 channels.
func BenchmarkSearch(b *testing.B) {
	bs := getBigStore(b)
	bs.log(b)
	v := bs.vocab
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"rare-word", Query{Words: v[3000]}},
		{"mid-word", Query{Words: v[300]}},
		{"common-pair", Query{Words: v[2] + " " + v[5]}},
		{"common+rare", Query{Words: v[1] + " " + v[1500]}},
		{"channel-filter", Query{Words: v[4], Channel: "ch01"}},
		{"from-filter", Query{Words: v[10], From: "agent07"}},
		{"no-match", Query{Words: v[100] + " " + v[4990]}},
		// Worst case: a common word and a reader who may read almost
		// nothing, so the walk runs to the budget.
		{"unreadable-budget", Query{Words: v[0], Reader: "nobody", Channels: []string{}}},
	} {
		q := c.q
		if q.Reader == "" {
			q.Reader, q.Channels = "bench", bs.channels
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				msgs, _, err := bs.s.Search(q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(msgs)
			}
			b.ReportMetric(float64(n), "results")
		})
	}
}

func BenchmarkConversationPage(b *testing.B) {
	bs := getBigStore(b)
	for _, c := range []struct {
		name   string
		before uint64
	}{{"newest", 0}, {"middle", bs.convSeq}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				msgs, more, err := bs.s.Conversation("bench", "agent01", Page{Before: c.before, Limit: 20})
				if err != nil || len(msgs) != 20 || !more {
					b.Fatal(len(msgs), more, err)
				}
			}
		})
	}
}

func BenchmarkChannelHistoryPage(b *testing.B) {
	bs := getBigStore(b)
	for _, c := range []struct {
		name   string
		before uint64
	}{{"newest", 0}, {"middle", bs.chanSeq}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				msgs, more, err := bs.s.ChannelHistory("ch00", Page{Before: c.before, Limit: 20})
				if err != nil || len(msgs) != 20 || !more {
					b.Fatal(len(msgs), more, err)
				}
			}
		})
	}
}

// BenchmarkUnreadWithChannels is check for a reader with 5 unread direct
// messages and 20 unread posts in 5 joined channels, beside 100,000 stored
// messages.
func BenchmarkUnreadWithChannels(b *testing.B) {
	bs := getBigStore(b)
	b.Run("unread", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			msgs, err := bs.s.Unread("bench", 100)
			if err != nil || len(msgs) != 25 {
				b.Fatal(len(msgs), err)
			}
		}
	})
	b.Run("count", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n, err := bs.s.UnreadCount("bench")
			if err != nil || n != 25 {
				b.Fatal(n, err)
			}
		}
	})
}
