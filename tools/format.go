package tools

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
)

// bodyPrefix sets off every line of text another user wrote. No line of
// the frame starts with it, so a body holding "From boss at ...:" lines
// reads as quoted words of its sender, never as a message of boss.
const bodyPrefix = "> "

// writeMessage writes one message: who, where (a channel, or with
// showTo the recipient), when, its type, id and thread, the text quoted
// (bodyPrefix), and for a large one where the whole text is. The id is
// always there: it is what reply_to and history's thread take. Everything
// but the text is ipcmesh's own or checked by the broker (names, ids,
// keys), so the first line is the only one that says who wrote it.
func (c *core) writeMessage(w io.Writer, m ipcmesh.Message, showTo bool) {
	from := human.Sender(m, showTo)
	var tags []string
	if m.Type != "" && m.Type != ipcmesh.TypeMessage {
		tags = append(tags, m.Type)
	}
	tags = append(tags, "id "+m.ID)
	if m.ReplyTo != "" {
		tags = append(tags, "reply to "+m.ReplyTo)
		if m.Thread != "" && m.Thread != m.ReplyTo {
			tags = append(tags, "thread "+m.Thread)
		}
	}
	fmt.Fprintf(w, "From %s at %s (%s):\n", from, m.Time.Local().Format("2006-01-02 15:04:05 MST"), strings.Join(tags, ", "))
	fmt.Fprintln(w, untrusted.Quote(m.Content, bodyPrefix))
	if m.Large {
		fmt.Fprintf(w, "(large message, %s: the text above is a summary; %s)\n", human.Size(m.Size), c.wholeText(m))
	}
	if m.Shared != "" {
		fmt.Fprintf(w, "(points at shared data %q: get_shared reads it)\n", m.Shared)
	}
}

// writeMessages writes msgs one after the other, blank lines between.
func (c *core) writeMessages(w io.Writer, msgs []ipcmesh.Message, showTo bool) {
	for _, m := range msgs {
		fmt.Fprintln(w)
		c.writeMessage(w, m, showTo)
	}
}

// maxText bounds the text of the messages one result shows (the first is
// always shown, whatever its size). A page of mail may hold megabytes
// (200 messages of up to 10 KiB), more than some clients take from one
// tool call, and a result the client cuts or refuses leaves the model
// without what it was told it has, mail marked read included.
const maxText = 64 << 10

// fitting writes msgs as writeMessages does, up to maxText of text, and
// returns the text and how many of msgs it holds: at least one, if any.
func (c *core) fitting(msgs []ipcmesh.Message, showTo bool) (string, int) {
	var b, one strings.Builder
	for i, m := range msgs {
		one.Reset()
		fmt.Fprintln(&one)
		c.writeMessage(&one, m, showTo)
		if i > 0 && b.Len()+one.Len() > maxText {
			return b.String(), i
		}
		b.WriteString(one.String())
	}
	return b.String(), len(msgs)
}

// lines writes one line of each of items with write, up to maxText of
// text in b (the first line always), and returns how many it wrote: a list
// of instances, channels or shared keys grows as the mesh is used, each
// line with up to 500 bytes of description, and past maxText it costs the
// model more context than some clients take from one tool call.
func lines[T any](b *strings.Builder, items []T, write func(*strings.Builder, T)) int {
	var line strings.Builder
	for i, it := range items {
		line.Reset()
		write(&line, it)
		if i > 0 && b.Len()+line.Len() > maxText {
			return i
		}
		b.WriteString(line.String())
	}
	return len(items)
}

// wholeText says where the whole text of the large message m is: history
// with its id, for every model, and the file on the mesh's machine for
// one that runs there (paths).
func (c *core) wholeText(m ipcmesh.Message) string {
	if c.paths && m.Path != "" {
		return fmt.Sprintf("the whole text is in %s (or: history with id %s)", m.Path, m.ID)
	}
	return fmt.Sprintf("the whole text: history with id %s", m.ID)
}

// channelName is the name of a channel as the model typed it, normalised
// when it can be, with its '#'.
func channelName(s string) string {
	if n, err := ipcmesh.NormalizeChannel(s); err == nil {
		return "#" + n
	}
	return "#" + strings.TrimPrefix(s, "#")
}

// names lists up to max names, marking me, and says how many more.
func names(list []string, me string, max int) string {
	var out []string
	for i, n := range list {
		if i == max {
			out = append(out, fmt.Sprintf("%d more", len(list)-max))
			break
		}
		if n == me {
			n += " (you)"
		}
		out = append(out, n)
	}
	return strings.Join(out, ", ")
}

// noSuchInstance is what a result that found nothing from or with name
// adds when no instance is registered as name (see Peer.UnknownName), ""
// otherwise. When a channel goes by name, the model most likely meant its
// posts, and readsChannel says how the tool reads them instead.
func noSuchInstance(ctx context.Context, p *election.Peer, name string, readsChannel func(ch string) string) string {
	s := p.UnknownName(ctx, name, "list_instances")
	if s == "" {
		return ""
	}
	if ch, ok := p.ChannelNamed(ctx, name); ok {
		s += fmt.Sprintf(" #%s is a channel: %s.", ch, readsChannel(ch))
	}
	return s
}

// channelAsInstance refuses a channel ("#ops") given as arg, which takes an
// instance's name, saying how the tool reads the channel's posts instead
// (readsChannel); it is nil for a name without a '#'. The broker would
// refuse the '#' as no letter of a name, which tells the model nothing of
// what it meant.
func channelAsInstance(action, arg, name string, readsChannel func(ch string) string) error {
	if !strings.HasPrefix(name, "#") {
		return nil
	}
	ch := strings.TrimPrefix(channelName(name), "#")
	return fmt.Errorf("cannot %s: %s takes an instance's name, and #%s is a channel: %s", action, arg, ch, readsChannel(ch))
}
