package ipc

import (
	"encoding/json"

	"github.com/ipcmesh/ipcmesh"
)

// share stores content under a key.
func (b *Broker) share(c *conn, name string, body json.RawMessage) (any, error) {
	var req ShareRequest
	if err := decode(OpShare, body, &req); err != nil {
		return nil, err
	}
	if err := ipcmesh.ValidateSharedKey(req.Key); err != nil {
		return nil, err
	}
	if req.Content == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "nothing to share under %q: give it some content", req.Key)
	}
	if max := b.store.Options().MaxMessageBytes; len(req.Content) > max {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the content for %q is %d bytes, over the limit of %d bytes: shorten it or split it over several keys", req.Key, len(req.Content), max)
	}
	if err := checkDescription("description", req.Description); err != nil {
		return nil, err
	}
	sh, err := b.store.Share(c.ctx, ipcmesh.Shared{Key: req.Key, Description: req.Description, StoredBy: name, Content: req.Content})
	if err != nil {
		return nil, err
	}
	sh.Content = ""
	return &SharedResult{Shared: sh}, nil
}

// getShared returns the content under a key.
func (b *Broker) getShared(_ *conn, _ string, body json.RawMessage) (any, error) {
	var req GetSharedRequest
	if err := decode(OpGetShared, body, &req); err != nil {
		return nil, err
	}
	if err := ipcmesh.ValidateSharedKey(req.Key); err != nil {
		return nil, err
	}
	sh, err := b.store.GetShared(req.Key)
	if err != nil {
		return nil, err
	}
	res := &SharedResult{Shared: sh}
	res.cut(req.Part)
	return res, nil
}

// listShared lists the shared keys without their content.
func (b *Broker) listShared(_ *conn, _ string, _ json.RawMessage) (any, error) {
	list, err := b.store.ListShared()
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []ipcmesh.Shared{}
	}
	for i := range list {
		list[i].Content = ""
	}
	return &ListSharedResult{Shared: list}, nil
}
