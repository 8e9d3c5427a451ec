package ipc

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// search finds words in the messages the caller may read: its direct mail
// and the channels it is a member of (or the one channel it names, if it
// may read it).
func (b *Broker) search(c *conn, name string, body json.RawMessage) (any, error) {
	var req SearchRequest
	if err := decode(OpSearch, body, &req); err != nil {
		return nil, err
	}
	query := strings.TrimSpace(req.Query)
	if query == "" && req.From == "" && req.Channel == "" && req.Since.IsZero() && req.Until.IsZero() {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "search needs a query: give one or more words to find (or at least a filter: from, channel, since, until)")
	}
	if len(query) > 1000 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the query is %d bytes long: use a few words (at most 1000 bytes)", len(query))
	}
	if req.From != "" {
		if err := ipcmesh.ValidateName(req.From); err != nil {
			return nil, err
		}
	}
	if err := checkTimes(req.Since, req.Until); err != nil {
		return nil, err
	}
	// The store bounds the answer (store.DefaultSearchLimit, MaxSearchLimit).
	q := store.Query{Words: query, From: req.From, Since: req.Since, Until: req.Until, Limit: req.Limit, Before: req.Before, Reader: name}
	if req.Channel != "" {
		ch, err := b.channelFor(c.ctx, name, req.Channel)
		if err != nil {
			return nil, err
		}
		q.Channel = ch.Name
		q.Channels = []string{ch.Name}
	} else {
		chans, err := b.store.Channels()
		if err != nil {
			return nil, err
		}
		for _, ch := range chans {
			if isMember(ch, name) {
				q.Channels = append(q.Channels, ch.Name)
			}
		}
	}
	msgs, more, err := b.store.Search(q)
	if err != nil {
		return nil, err
	}
	// The store searches what Reader and Channels allow (and matches From's
	// earlier names); this is the broker's own word on it.
	allowed := make(map[string]bool, len(q.Channels))
	for _, ch := range q.Channels {
		allowed[ch] = true
	}
	r := b.reader(name)
	var ferr error
	msgs = slices.DeleteFunc(msgs, func(m ipcmesh.Message) bool {
		if m.Channel != "" {
			return !allowed[m.Channel]
		}
		own, err := r.owns(m)
		if err != nil {
			ferr = err
		}
		return q.Channel != "" || !own
	})
	if ferr != nil {
		return nil, ferr
	}
	if msgs == nil {
		msgs = []ipcmesh.Message{}
	}
	return &SearchResult{Messages: msgs, More: more}, nil
}

// setStatus sets the caller's status line and description.
func (b *Broker) setStatus(c *conn, name string, body json.RawMessage) (any, error) {
	var req SetStatusRequest
	if err := decode(OpSetStatus, body, &req); err != nil {
		return nil, err
	}
	if len(req.Status) > MaxStatus {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the status is %d bytes, over the limit of %d: keep it to one short line", len(req.Status), MaxStatus)
	}
	if err := checkPlainLine("status", req.Status, "drop it, and put more in the description"); err != nil {
		return nil, err
	}
	desc := &req.Description
	if req.KeepDescription {
		if req.Description != "" {
			return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "keep_description keeps the description as it is, and a description %q was given too: leave out one of them", truncate(req.Description, 70))
		}
		desc = nil
	}
	if err := checkDescription("description", req.Description); err != nil {
		return nil, err
	}
	if err := b.store.SetStatus(c.ctx, name, req.Status, desc); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
