package ipc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

// checkMembers validates and dedupes the members a request of op names.
// The limit counts them as the request sent them: the caller, whom op may
// add too, is not one of them. advice says what to do with more. A member
// the mesh does not know must be a name that can be registered
// (newName): "-tester" would be a member no instance could ever be.
func (b *Broker) checkMembers(op string, names []string, advice string) ([]string, error) {
	if len(names) > MaxMembers {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "%s names %d members, over the limit of %d for one request: %s", op, len(names), MaxMembers, advice)
	}
	var out []string
	for _, n := range names {
		if err := b.newName(n); err != nil {
			return nil, ipcmesh.Errorf(ipcmesh.CodeInvalidName, "member: %v", err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func checkDescription(what, s string) error {
	if len(s) > MaxDescription {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the %s is %d bytes, over the limit of %d: shorten it", what, len(s), MaxDescription)
	}
	return nil
}

// checkPlainLine refuses a control character in s, one line of plain text
// (a status, a key's label) that commands print as it is: an escape
// sequence there would be obeyed by the terminal, not shown. what names
// the field, advice says what to do instead.
func checkPlainLine(what, s, advice string) error {
	i := strings.IndexFunc(s, untrusted.Control)
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the %s must be one line of plain text, and it has %U at byte %d: %s", what, r, i+1, advice)
}

// channelCreate makes a channel with the caller as its first member.
func (b *Broker) channelCreate(c *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelCreateRequest
	if err := decode(OpChannelCreate, body, &req); err != nil {
		return nil, err
	}
	norm, err := ipcmesh.NormalizeChannel(req.Name)
	if err != nil {
		return nil, err
	}
	if err := ipcmesh.ValidateNewChannel(norm); err != nil {
		return nil, err
	}
	if err := checkDescription("channel description", req.Description); err != nil {
		return nil, err
	}
	members, err := b.checkMembers(OpChannelCreate, req.Members,
		fmt.Sprintf("create the channel with at most %d and add the rest with %s", MaxMembers, OpChannelJoin))
	if err != nil {
		return nil, err
	}
	if !slices.Contains(members, name) {
		members = append([]string{name}, members...)
	}
	chans, err := b.store.Channels()
	if err != nil {
		return nil, err
	}
	ch, err := b.store.CreateChannel(c.ctx, ipcmesh.Channel{
		Name:        norm,
		Description: req.Description,
		Private:     req.Private,
		CreatedBy:   name,
		Members:     members,
	})
	if ipcmesh.CodeOf(err) == ipcmesh.CodeNameTaken {
		// The caller's own create again (a retry after a failover, or the
		// same command twice) is answered with the channel it made.
		if old, ok, lerr := b.store.Channel(norm); lerr == nil && ok && old.CreatedBy == name &&
			old.Private == req.Private && old.Description == req.Description && isMember(old, name) {
			return &ChannelResult{Channel: old}, nil
		}
		return nil, b.channelTaken(norm, chans)
	}
	if err != nil {
		return nil, err
	}
	res := &ChannelResult{Channel: ch}
	// A close name is most likely a typo or a duplicate: say so, naming
	// the closest channel the caller can see. A shorter name needs a
	// closer match, as in ipcmesh.Closest: every name of two letters is
	// within two edits of every other, and #qa is no typo of #ux.
	best, bestD := "", 3
	for _, o := range b.visible(chans, name) {
		if o.Name == norm {
			continue
		}
		if d := ipcmesh.Distance(norm, o.Name); d < bestD && d < len(norm)-1 {
			best, bestD = o.Name, d
		}
	}
	if best != "" {
		res.Warning = fmt.Sprintf("a channel #%s exists: did you mean it? (#%s was created all the same)", best, norm)
	}
	return res, nil
}

// channelTaken is the name_taken for a channel name, with free variants.
func (b *Broker) channelTaken(norm string, chans []ipcmesh.Channel) error {
	taken := make(map[string]bool, len(chans))
	for _, ch := range chans {
		taken[ch.Name] = true
	}
	free := ipcmesh.FreeVariants(norm, func(n string) bool { return taken[n] }, 3)
	msg := fmt.Sprintf("a channel #%s exists already: join it (channel_join) if it is public, or pick another name", norm)
	if len(free) > 0 {
		msg += "; free names: " + strings.Join(free, ", ")
	}
	return &ipcmesh.Error{Code: ipcmesh.CodeNameTaken, Message: msg, Suggestions: free}
}

// channelList lists the channels the caller may see, found by keyword.
func (b *Broker) channelList(_ *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelListRequest
	if err := decode(OpChannelList, body, &req); err != nil {
		return nil, err
	}
	chans, err := b.store.Channels()
	if err != nil {
		return nil, err
	}
	chans = b.visible(chans, name)
	var words []string
	for _, w := range strings.Fields(strings.ToLower(req.Query)) {
		if w = strings.TrimPrefix(w, "#"); w != "" {
			words = append(words, w)
		}
	}
	if len(words) > 0 {
		chans = slices.DeleteFunc(chans, func(ch ipcmesh.Channel) bool {
			text := ch.Name + "\n" + strings.ToLower(ch.Description)
			for _, w := range words {
				if strings.Contains(text, w) {
					return false
				}
			}
			return true
		})
	}
	return &ChannelListResult{Channels: chans}, nil
}

// channelJoin joins the caller to a public channel (with the members it
// names), or adds members to a private channel the caller is in.
func (b *Broker) channelJoin(c *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelJoinRequest
	if err := decode(OpChannelJoin, body, &req); err != nil {
		return nil, err
	}
	ch, err := b.channelFor(c.ctx, name, req.Name)
	if err != nil {
		return nil, err
	}
	add, err := b.checkMembers(OpChannelJoin, req.Members, "add them in parts")
	if err != nil {
		return nil, err
	}
	if !ch.Private {
		add = append([]string{name}, add...)
	}
	// Members already in are left alone: joining again must not move
	// their read cursor past posts they have not read.
	add = slices.DeleteFunc(add, func(n string) bool { return isMember(ch, n) })
	if len(add) == 0 {
		return &ChannelResult{Channel: ch}, nil
	}
	ch, err = b.store.JoinChannel(c.ctx, ch.Name, add)
	if err != nil {
		return nil, err
	}
	return &ChannelResult{Channel: ch}, nil
}

// channelLeave takes the caller out of a channel. Leaving a public channel
// one is not in does nothing, and the answer says so.
func (b *Broker) channelLeave(c *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelLeaveRequest
	if err := decode(OpChannelLeave, body, &req); err != nil {
		return nil, err
	}
	ch, err := b.channelFor(c.ctx, name, req.Name)
	if err != nil {
		return nil, err
	}
	if !isMember(ch, name) {
		return &ChannelLeaveResult{NotMember: true}, nil
	}
	if err := b.store.LeaveChannel(c.ctx, ch.Name, name); err != nil {
		return nil, err
	}
	return &ChannelLeaveResult{}, nil
}
