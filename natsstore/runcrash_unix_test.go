//go:build unix

package natsstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// A view far behind the log applies it in runs, each in one commit of
// the view, which records the run's last event as held (store.SetApplied);
// its place in view.json is written only after, without a sync, at most
// once a second. Killed at any point of a run, it must be whole: it holds
// the log up to the last event it committed, view.json at or before
// that, a run not committed left nothing, and opened again it applies
// the rest of the log from there, none of it twice, and holds each
// message of the log once, as every other view does.

// The variables that make TestViewKilledInARunHoldsTheLogOnceOpenedAgain's
// child play host A: the cluster's URL, the test's prefix, A's data
// folder, and where in its catch-up it stops to be killed (a runCrash).
const (
	crashURL    = "IPCMESH_NATS_CRASH_URL"
	crashPrefix = "IPCMESH_NATS_CRASH_PREFIX"
	crashDir    = "IPCMESH_NATS_CRASH_DIR"
	crashAt     = "IPCMESH_NATS_CRASH_AT"
)

// A runCrash is where host A is killed: in its run'th run, once that run
// is at point (at the written'th event's writes for RunWrote, or at the
// run's end should it be shorter). A fly crash does not stop there: the
// child goes on, and is killed wherever it is once it said so.
type runCrash struct {
	name    string
	run     int
	point   natsstore.RunPoint
	written int
	fly     bool
}

func (c runCrash) String() string {
	return fmt.Sprintf("%d %d %d %t", c.run, c.point, c.written, c.fly)
}

func parseRunCrash(s string) (c runCrash, err error) {
	_, err = fmt.Sscanf(s, "%d %d %d %t", &c.run, &c.point, &c.written, &c.fly)
	return c, err
}

// The log host A catches up with: runsLog events of mail in all, from
// alice to bob and carol in turn, among them large messages and
// acks written through host B. A fetch of the log brings up to 1,024
// events, each run of a fetch's events in one commit: the log is some
// runs long.
const runsLog = 2400

// TestViewKilledInARunHoldsTheLogOnceOpenedAgain: host A's view lags the
// log by some thousand events (its host asleep), among them a post to a
// channel made only by the event after it, and catches up in runs, in a
// process killed (SIGKILL) in the middle of one: at the first write of
// the first run, after some writes of the next, once they are all made
// and the commit is next, once it is committed and none of its events
// settled, and wherever a kill that does not wait for a point lands.
// Each time, A's folder holds a view that records itself as holding the
// log up to the last event it committed (view.json at or before it),
// with every message of the log up to there, none after (nothing of a
// run that was not committed), and each large event up to there
// recorded (its body kept by the sweeps). Opened again, A applies the
// log to its end: every message once, none twice, with the seq every
// view gives it, the post that every view refused not stored, the unread
// counts and the large bodies as the log has them. The view once knew
// only view.json's place, and applied the events after it again: the
// post, decided again on a view that held its channel, was stored, and
// every message after it took another seq.
func TestViewKilledInARunHoldsTheLogOnceOpenedAgain(t *testing.T) {
	if url := os.Getenv(crashURL); url != "" {
		hostKilledInARun(t, url)
		return
	}
	crashes := []runCrash{
		{name: "first write of the first run", run: 1, point: natsstore.RunWrote, written: 1},
		{name: "some writes into a run", run: 2, point: natsstore.RunWrote, written: 400},
		{name: "the commit next", run: 2, point: natsstore.RunWritten},
		{name: "committed, nothing settled", run: 2, point: natsstore.RunCommitted},
		{name: "wherever the kill lands", run: 2, point: natsstore.RunCommitted, fly: true},
	}
	p := natsmesh.Prefix(t, &shared)
	url := shared.Get(t).URL()
	var (
		mu      sync.Mutex
		uploads []string // the large events' objects, as B put them
	)
	b := openHost(t, p, func(o *natsstore.Options) {
		natsstore.OnUploaded(o, func(info *jetstream.ObjectInfo) {
			mu.Lock()
			uploads = append(uploads, info.Name)
			mu.Unlock()
		})
	})
	end, err := b.LogEnd(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	l := &crashLog{t: t, b: b, js: sharedJetStream(t), subject: p + ".log", end: end,
		seqOf: map[string]uint64{}, acked: map[string]bool{}, bodies: map[string]uint64{}, large: map[string]string{}}
	// Each A applies an event as it opens, and so records its place.
	l.bSends("first", "dave", "bob", "before A slept")

	children := make([]*crashChild, len(crashes))
	for i, c := range crashes {
		children[i] = startCrashChild(t, url, p, c)
	}
	for i, ch := range children {
		if line, ok := ch.await("held"); !ok {
			t.Fatalf("host A (%s) ended before its applying was held: %q\n%s", crashes[i].name, line, ch.stderr.String())
		}
	}

	large := func(id, to string) {
		mu.Lock()
		before := len(uploads)
		mu.Unlock()
		// Too large for one NATS message: its body goes to the bodies
		// bucket.
		l.bSends(id, "dave", to, strings.Repeat(id+" ", (1<<20)/(len(id)+1)))
		mu.Lock()
		defer mu.Unlock()
		if len(uploads) != before+1 {
			t.Fatalf("B put %d objects into the bodies bucket for %s; want 1", len(uploads)-before, id)
		}
		l.bodies[uploads[before]] = l.seqOf[id]
	}
	l.publish(runsLog / 3)
	large("large-1", "bob")
	l.publish(runsLog / 6)
	l.bPostsTooEarly("late")
	l.publish(runsLog / 6)
	l.bAcks("bob", 0, 400)
	large("large-2", "carol")
	l.bAcks("carol", 1, 400)
	l.publish(runsLog/3 - 4)
	large("large-3", "bob")
	t.Logf("the log: %d events, %d messages, %d of them acked", l.end, len(l.ids), len(l.acked))

	for i, c := range crashes {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			l.crashAndCheck(t, children[i], c)
		})
	}
}

// crashLog writes the log host A catches up with, and keeps count of it.
type crashLog struct {
	t       *testing.T
	b       *host
	js      jetstream.JetStream
	subject string

	end    uint64            // the log's last event
	ids    []string          // every message, in the log's order
	seqOf  map[string]uint64 // message id -> its event
	to     []string          // ids[i]'s recipient
	acked  map[string]bool   // the messages acked
	bodies map[string]uint64 // large event's object -> its event
	large  map[string]string // large message id -> its body

	refused []string // the messages of the log every view refused
}

// publish puts n messages into the log as events of a broker, one after
// another, each made again while the cluster fails for a moment
// (settledValue): under its message id, a publish whose answer was lost
// is answered again with the event it made, so the log holds each once,
// in order.
func (l *crashLog) publish(n int) {
	t := l.t
	t.Helper()
	for range n {
		id := fmt.Sprintf("m-%04d", len(l.ids))
		to := []string{"bob", "carol"}[len(l.ids)%2]
		args, _ := json.Marshal(map[string]any{"drafts": []store.Draft{draft(id, "alice", to, "in the log "+id)}})
		ev, _ := json.Marshal(map[string]any{"id": "crash." + id, "op": "append", "time": time.Now().UTC(), "args": json.RawMessage(args)})
		pa, err := settledValue(t.Context(), func(ctx context.Context) (*jetstream.PubAck, error) {
			return l.js.Publish(ctx, l.subject, ev, jetstream.WithMsgID("crash."+id))
		})
		if err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
		l.add(id, ev, pa.Sequence)
	}
}

// add counts the message id, of the event data, at seq.
func (l *crashLog) add(id string, data []byte, seq uint64) {
	var ev struct {
		Args struct {
			Drafts []store.Draft `json:"drafts"`
		} `json:"args"`
	}
	if err := json.Unmarshal(data, &ev); err != nil || len(ev.Args.Drafts) != 1 {
		l.t.Fatalf("the event of %s: %v", id, err)
	}
	if seq != l.end+1 {
		l.t.Fatalf("%s is event %d of the log; want %d", id, seq, l.end+1)
	}
	l.end = seq
	l.ids = append(l.ids, id)
	l.to = append(l.to, ev.Args.Drafts[0].To)
	l.seqOf[id] = seq
}

// bSends sends a message through host B.
func (l *crashLog) bSends(id, from, to, body string) {
	l.t.Helper()
	mustAppend(l.t, l.b, draft(id, from, to, body))
	l.end++
	l.ids = append(l.ids, id)
	l.to = append(l.to, to)
	l.seqOf[id] = l.end
	if len(body) > 1<<19 {
		l.large[id] = body
	}
}

// bPostsTooEarly posts to the channel ch through host B before anyone
// made it, which every view refuses, then makes it.
func (l *crashLog) bPostsTooEarly(ch string) {
	t := l.t
	t.Helper()
	post := draft("early-post", "alice", "", "a post before #"+ch+" was made")
	post.Channel = ch
	ds, err := l.b.Append(context.Background(), []store.Draft{post})
	if err != nil || ds[0].Err == nil {
		t.Fatalf("a post to #%s before it was made: %+v, %v; want it refused", ch, ds, err)
	}
	if _, err := l.b.CreateChannel(context.Background(), ipcmesh.Channel{Name: ch, CreatedBy: "alice", Members: []string{"alice"}}); err != nil {
		t.Fatalf("make #%s: %v", ch, err)
	}
	l.end += 2
	l.refused = append(l.refused, post.ID)
}

// bAcks acks, through host B, n of name's messages, every other one of
// those from the from'th on.
func (l *crashLog) bAcks(name string, from, n int) {
	l.t.Helper()
	var ids []string
	for i := from; i < len(l.ids) && len(ids) < n; i += 2 {
		if l.to[i] == name && !l.acked[l.ids[i]] {
			ids = append(ids, l.ids[i])
		}
	}
	if got, err := l.b.Ack(context.Background(), name, ids); err != nil || got != len(ids) {
		l.t.Fatalf("ack %d of %s's messages through B: %d, %v", len(ids), name, got, err)
	}
	l.end++
	for _, id := range ids {
		l.acked[id] = true
	}
}

// crashAndCheck lets ch catch up until it is at c, kills it there, and
// checks its view as the kill left it and once opened again.
func (l *crashLog) crashAndCheck(t *testing.T, ch *crashChild, c runCrash) {
	if _, err := io.WriteString(ch.stdin, "go\n"); err != nil {
		t.Fatalf("tell host A to catch up: %v", err)
	}
	line, ok := ch.await("stopped")
	if !ok {
		t.Fatalf("host A caught up, or ended, before it was at %s: %q\n%s", c.name, line, ch.stderr.String())
	}
	ch.kill(t)
	var (
		point   natsstore.RunPoint
		first   uint64
		written int
	)
	if _, err := fmt.Sscanf(line, "stopped %d %d %d", &point, &first, &written); err != nil {
		t.Fatalf("host A said %q: %v", line, err)
	}
	// The last event the view committed, as far as is known: the runs
	// before this one are, and this one once it is. A fly crash went on
	// and may have committed more.
	committed := first - 1
	if point == natsstore.RunCommitted {
		committed += uint64(written)
	}
	t.Logf("host A killed at %s: in the run from event %d, %d of its events written (point %d)", c.name, first, written, point)

	viewDir := filepath.Join(ch.dir, "nats", l.b.opts.Prefix)
	var m struct {
		Applied uint64 `json:"applied"`
	}
	data, err := os.ReadFile(filepath.Join(viewDir, "view.json"))
	if err == nil {
		err = json.Unmarshal(data, &m)
	}
	if err != nil {
		t.Fatalf("the place in the log the killed view recorded: %v", err)
	}
	l.checkKilled(t, viewDir, m.Applied, c, first, committed)

	o := natsstore.Options{URL: l.b.opts.URL, Prefix: l.b.opts.Prefix, Store: store.Options{Dir: ch.dir}}
	a := reopen(t, o)
	defer a.Close()
	l.checkCaughtUp(t, a)
}

// checkKilled checks the view in viewDir as a kill at c left it, with
// its place recorded at applied in view.json: the event the view itself
// records as held (store.SetApplied) is the one it committed last, at
// or after applied; the view holds every message up to there and none
// after; and it recorded every large event it holds.
func (l *crashLog) checkKilled(t *testing.T, viewDir string, applied uint64, c runCrash, first, committed uint64) {
	t.Helper()
	v, err := store.Open(store.Options{Dir: viewDir, NoSync: true})
	if err != nil {
		t.Fatalf("open the killed view: %v", err)
	}
	defer v.Close()
	held, err := v.Applied()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !c.fly && held != committed:
		t.Errorf("the killed view records that it holds the log up to event %d; it committed up to event %d (the run from event %d)", held, committed, first)
	case held < committed:
		t.Errorf("the killed view records that it holds the log up to event %d; it committed up to event %d at least", held, committed)
	}
	if applied > held {
		t.Errorf("the killed view's view.json is at event %d, past the event %d it holds the log up to", applied, held)
	}
	missing, leaked := 0, 0
	for _, id := range l.ids {
		seq := l.seqOf[id]
		_, found, err := v.Lookup(id)
		if err != nil {
			t.Fatalf("look %s up in the killed view: %v", id, err)
		}
		switch {
		case !found && seq <= held:
			if missing++; missing <= 5 {
				t.Errorf("the killed view, holding the log up to event %d, lacks %s, event %d", held, id, seq)
			}
		case found && seq > held:
			if leaked++; leaked <= 5 {
				t.Errorf("the killed view, holding the log up to event %d, holds %s, event %d, of a run it never committed", held, id, seq)
			}
		}
	}
	if missing+leaked > 5 {
		t.Errorf("and %d more", missing+leaked-5)
	}
	recorded := readBodies(t, viewDir)
	for obj, seq := range l.bodies {
		if seq <= held && !recorded[obj] {
			t.Errorf("the killed view, holding the log up to event %d, did not record the large event %d (%s): a sweep would remove its body", held, seq, obj)
		}
	}
}

// checkCaughtUp checks a, A opened again: at the log's end, with every
// message once, the unread counts the log's and each large body whole.
func (l *crashLog) checkCaughtUp(t *testing.T, a *host) {
	t.Helper()
	if got := a.Applied(); got != l.end {
		t.Errorf("A opened again is at event %d; want the log's end, %d", got, l.end)
	}
	unread := map[string]int{}
	for i, id := range l.ids {
		if !l.acked[id] {
			unread[l.to[i]]++
		}
	}
	st, err := a.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != len(l.ids) || st.Unread != unread["bob"]+unread["carol"] {
		t.Errorf("A opened again holds %d messages, %d unread; want %d, %d unread", st.Messages, st.Unread, len(l.ids), unread["bob"]+unread["carol"])
	}
	for _, name := range []string{"bob", "carol"} {
		if n, err := a.UnreadCount(name); err != nil || n != unread[name] {
			t.Errorf("%s has %d unread in A opened again (%v); want %d", name, n, err, unread[name])
		}
		msgs, err := a.Unread(name, 2*len(l.ids))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, msg := range msgs {
			if seen[msg.ID]++; seen[msg.ID] == 2 {
				t.Errorf("%s's unread in A opened again has %s twice", name, msg.ID)
			}
		}
		for i, id := range l.ids {
			if l.to[i] == name && !l.acked[id] && seen[id] == 0 {
				t.Errorf("%s's unread in A opened again lacks %s, event %d", name, id, l.seqOf[id])
			}
		}
	}
	// Every view gives a message the same seq: one that took another
	// would hand out the seqs after it apart from the others.
	wrong := 0
	for _, id := range l.ids {
		got, found, err := a.Lookup(id)
		if err != nil || !found {
			t.Errorf("A opened again lacks %s, event %d (%v)", id, l.seqOf[id], err)
			continue
		}
		if want, _, err := l.b.Lookup(id); err != nil || got.Seq != want.Seq {
			if wrong++; wrong <= 5 {
				t.Errorf("%s, event %d, has seq %d in A opened again, %d in B's view (%v)", id, l.seqOf[id], got.Seq, want.Seq, err)
			}
		}
	}
	if wrong > 5 {
		t.Errorf("and %d more messages with another seq", wrong-5)
	}
	for _, id := range l.refused {
		if msg, found, err := a.Lookup(id); err != nil || found {
			t.Errorf("A opened again holds %s (seq %d, %v), which every view refused", id, msg.Seq, err)
		}
	}
	for id, body := range l.large {
		if _, got, err := a.Get(l.to[indexOf(l.ids, id)], id); err != nil || got != body {
			t.Errorf("the large message %s in A opened again: %d bytes (%v); want the %d sent", id, len(got), err, len(body))
		}
	}
	for obj, seq := range l.bodies {
		if !a.NamesBody(obj) {
			t.Errorf("A opened again did not record the large event %d (%s)", seq, obj)
		}
	}
}

func indexOf(ids []string, id string) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// readBodies reads the objects of the large events the view in viewDir
// recorded.
func readBodies(t *testing.T, viewDir string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(viewDir, "bodies"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		if obj, _, _ := strings.Cut(strings.TrimSpace(line), " "); obj != "" {
			recorded[obj] = true
		}
	}
	return recorded
}

// crashChild is host A in a child process.
type crashChild struct {
	cmd    *exec.Cmd
	dir    string // A's data folder
	stdin  io.WriteCloser
	lines  *bufio.Scanner
	stderr strings.Builder
}

// startCrashChild starts host A on the mesh of prefix, in a data folder
// of its own, to be killed at c.
func startCrashChild(t *testing.T, url, prefix string, c runCrash) *crashChild {
	t.Helper()
	ch := &crashChild{dir: t.TempDir()}
	ch.cmd = exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestViewKilledInARunHoldsTheLogOnceOpenedAgain$", "-test.count=1", "-test.v")
	ch.cmd.Env = append(os.Environ(), crashURL+"="+url, crashPrefix+"="+prefix, crashDir+"="+ch.dir, crashAt+"="+c.String())
	var err error
	if ch.stdin, err = ch.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := ch.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	ch.cmd.Stderr = &ch.stderr
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch.lines = bufio.NewScanner(out)
	t.Cleanup(func() {
		ch.cmd.Process.Kill()
		ch.cmd.Wait()
	})
	return ch
}

// await reads the child's lines until one starts with word, which it
// returns; or the last it read, and false, once the child said it caught
// up or its stdout ended.
func (ch *crashChild) await(word string) (string, bool) {
	last := ""
	for ch.lines.Scan() {
		last = ch.lines.Text()
		if strings.HasPrefix(last, word) {
			return last, true
		}
		if strings.HasPrefix(last, "caught up") {
			return last, false
		}
	}
	return last, false
}

// kill ends the child with SIGKILL, as a crash would, and waits for it.
func (ch *crashChild) kill(t *testing.T) {
	t.Helper()
	if err := ch.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ch.cmd.Wait()
}

// hostKilledInARun is host A of
// TestViewKilledInARunHoldsTheLogOnceOpenedAgain: it opens its view, stops
// following the log and holds its applying (its host asleep), says
// "held", and once told "go" on stdin, catches up with the log. In the
// run of the catch-up its crash names, at the point it names, it says
// "stopped" with the point, the run's first event and how many of its
// events are written, and waits there to be killed; a fly crash goes on
// instead.
func hostKilledInARun(t *testing.T, url string) {
	c, err := parseRunCrash(os.Getenv(crashAt))
	if err != nil {
		t.Fatalf("%s=%q: %v", crashAt, os.Getenv(crashAt), err)
	}
	runs := 0
	inRun := func(at natsstore.RunPoint, first uint64, written int) {
		if at == natsstore.RunWrote && written == 1 {
			runs++
		}
		if runs != c.run {
			return
		}
		switch {
		case at == c.point && (at != natsstore.RunWrote || written == c.written),
			at == natsstore.RunWritten && c.point == natsstore.RunWrote && !c.fly:
		default:
			return
		}
		fmt.Printf("stopped %d %d %d\n", at, first, written)
		if c.fly {
			return
		}
		// Killed here; should the test end first, its stdin closes.
		io.Copy(io.Discard, os.Stdin)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := natsstore.Options{URL: url, Prefix: os.Getenv(crashPrefix), Store: store.Options{Dir: os.Getenv(crashDir)}}
	natsstore.OnRun(&o, inRun)
	s, err := natsstore.Open(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.StopFollowing()
	release := s.HoldApplying()
	defer release()
	fmt.Println("held")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		t.Fatalf("told %q, not go (%v)", in.Text(), in.Err())
	}
	err = s.CatchUpHeld(context.Background())
	fmt.Println("caught up", strconv.Quote(fmt.Sprint(err)))
}
