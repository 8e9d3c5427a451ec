package gateway

import (
	"net/http"
	"reflect"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// route is one REST endpoint. The one table of them (restRoutes) both
// registers the handlers and makes the OpenAPI document, so the two cannot
// drift apart.
type route struct {
	method, path string // path as a ServeMux pattern, which is OpenAPI's form too
	op           string // operationId: camelCase, unique
	summary      string
	desc         string // under 300 characters (ChatGPT Actions' limit)
	body         *schemaType
	bodyOptional bool
	result       *schemaType
	stream       string // content type of a streamed result instead of JSON
	status       int    // success status (200 if 0)
	query        []param
	pathParams   []param
	headers      []param
	public       bool // no key needed
	named        bool // acts as the key's name: registers it if needed
	register     bool // registers the key's name on purpose (sessions.acquire)
	events       bool // a stream of the name's new messages
	serve        func(*call) (any, error)
}

// param documents a query or path parameter.
type param struct {
	name, typ, desc string
	required        bool
}

// schemaType names a Go type whose JSON schema describes a body or result.
type schemaType struct {
	name string
	t    reflect.Type
}

func schemaOf[T any](name string) *schemaType {
	return &schemaType{name: name, t: reflect.TypeFor[T]()}
}

// chatGPTWait tells a ChatGPT action how long it may wait: its calls are
// cut off after 45 seconds, answer or not, and the model takes the
// document's words (and examples) as they are.
const chatGPTWait = "from a ChatGPT action at most 40s, as its calls end after 45s"

// limitParam documents a limit query parameter.
func limitParam(what string) param {
	return param{name: "limit", typ: "integer", desc: "at most this many " + what + " (the mesh's default when absent)"}
}

// idempotencyParam documents the Idempotency-Key header of a route that
// stores a message.
func idempotencyParam() param {
	return param{name: "Idempotency-Key", typ: "string",
		desc: "8 to 64 letters, digits, '_' or '-', new for each message: the message's id, so a retry with the same key stores and delivers nothing new"}
}

// idParam documents a message id in the path.
func idParam() param { return param{name: "id", typ: "string", desc: "a message id", required: true} }

// restRoutes is the REST face: docs/HTTP.md's table.
func (s *Server) restRoutes() []route {
	return []route{
		{method: "GET", path: "/health", op: "getHealth", public: true,
			summary: "Liveness", desc: "Says the face is up, and its version. Needs no key.",
			result: schemaOf[healthResult]("Health"), serve: s.health},

		{method: "GET", path: "/api/v1/me", op: "getMe",
			summary: "Who the key acts as", desc: "The name this key acts as, how many direct messages it has unread (channel posts are not counted: checkMessages reads both) and whether the name is online. Does not put the name online.",
			result: schemaOf[meResult]("Me"), serve: s.me},
		{method: "POST", path: "/api/v1/register", op: "register", named: true, register: true, body: schemaOf[statusBody]("RegisterRequest"), bodyOptional: true,
			summary: "Go online", desc: "Puts the key's name online on the mesh (every other call does so too), taking it back if it was renamed away, and optionally sets its status line and description.",
			result: schemaOf[registerResult]("Registered"), serve: s.registerName},
		{method: "POST", path: "/api/v1/messages", op: "sendMessage", named: true, status: http.StatusCreated, body: schemaOf[sendBody]("SendRequest"),
			headers: []param{idempotencyParam()},
			summary: "Send a message", desc: "Sends a message to an instance by name, or posts it to a channel with to \"#name\". The answer says whether it was delivered, stored, queued or forwarded. An id in the body, or an Idempotency-Key header, becomes the message id, so a retry is not stored twice.",
			result: schemaOf[ipc.SendResult]("SendResult"), serve: s.send},
		{method: "GET", path: "/api/v1/messages", op: "checkMessages", named: true,
			summary: "Unread messages", desc: "Unread messages, oldest first, direct and from channels the name belongs to. They stay unread until acked. With wait, waits up to 60s for one when none is unread; with from too, for that instance's next message. An answer stays under 90,000 bytes: remaining counts the rest.",
			query: []param{limitParam("messages"), {name: "wait", typ: "string", desc: "wait up to this long for a message when none is unread, e.g. 20s (at most 60s; " + chatGPTWait + "); absent, the answer comes at once"},
				{name: "from", typ: "string", desc: "only direct messages from this instance (under any of its names); the rest stay unread"}},
			result: schemaOf[unreadResult]("Unread"), serve: s.check},
		{method: "POST", path: "/api/v1/messages/ack", op: "ackMessages", named: true, body: schemaOf[ackBody]("AckRequest"),
			summary: "Mark messages read", desc: "Marks the messages with these ids read, once they are safely in the reader's hands.",
			result: schemaOf[ackResult]("Acked"), serve: s.ack},
		{method: "GET", path: "/api/v1/messages/{id}", op: "getMessage", named: true, pathParams: []param{idParam()},
			query:   []param{offsetParam("the message's body")},
			summary: "One message", desc: "One message the name may read, with its whole body in content (a large message's content is otherwise a summary). A body over 90,000 bytes of JSON comes in pages: next_offset, when present, is the offset of the next.",
			result: schemaOf[fetchResult]("FetchedMessage"), serve: s.fetch},
		{method: "POST", path: "/api/v1/broadcast", op: "broadcast", named: true, body: schemaOf[broadcastBody]("BroadcastRequest"),
			headers: []param{idempotencyParam()},
			summary: "Message everyone", desc: "Sends a message to every registered instance but the key's name. An id in the body, or an Idempotency-Key header, becomes the message id, so a retry reaches nobody twice.",
			result: schemaOf[ipc.BroadcastResult]("BroadcastResult"), serve: s.broadcast},
		{method: "GET", path: "/api/v1/instances", op: "listInstances", named: true,
			summary: "Instances", desc: "Every registered instance: whether it is online, when it was last seen, its unread count, status line and description.",
			result: schemaOf[ipc.ListResult]("Instances"), serve: s.instances},
		{method: "GET", path: "/api/v1/channels", op: "listChannels", named: true,
			query:   []param{{name: "q", typ: "string", desc: "only channels whose name or description holds one of these words"}},
			summary: "Channels", desc: "The public channels and the private ones the name belongs to; with q, only those matching one of its words.",
			result: schemaOf[ipc.ChannelListResult]("Channels"), serve: s.channels},
		{method: "POST", path: "/api/v1/channels", op: "createChannel", named: true, status: http.StatusCreated, body: schemaOf[ipc.ChannelCreateRequest]("ChannelCreateRequest"),
			summary: "Create a channel", desc: "Makes a channel with the key's name as its first member; a private one is read by its members only. The warning names an existing channel with a close name.",
			result: schemaOf[ipc.ChannelResult]("ChannelCreated"), serve: s.createChannel},
		{method: "POST", path: "/api/v1/channels/{name}/join", op: "joinChannel", named: true, body: schemaOf[joinBody]("JoinRequest"), bodyOptional: true,
			pathParams: []param{{name: "name", typ: "string", desc: "the channel's name, without #", required: true}},
			summary:    "Join a channel", desc: "Joins a public channel, with members if given; in a private channel the name belongs to, adds members.",
			result: schemaOf[channelOnly]("ChannelJoined"), serve: s.joinChannel},
		{method: "POST", path: "/api/v1/channels/{name}/leave", op: "leaveChannel", named: true,
			pathParams: []param{{name: "name", typ: "string", desc: "the channel's name, without #", required: true}},
			summary:    "Leave a channel", desc: "Takes the key's name out of a channel.",
			result: schemaOf[leftResult]("ChannelLeft"), serve: s.leaveChannel},
		{method: "GET", path: "/api/v1/history", op: "getHistory", named: true,
			query: []param{
				{name: "with", typ: "string", desc: "the other instance of a conversation (give with or channel)"},
				{name: "channel", typ: "string", desc: "a channel (give with or channel)"},
				{name: "before", typ: "integer", desc: "only messages with a seq below this: the seq of the last message of the previous page"},
				limitParam("messages"),
				{name: "since", typ: "string", desc: "only messages at or after this RFC 3339 time or date"},
				{name: "until", typ: "string", desc: "only messages at or before this RFC 3339 time or date"},
			},
			summary: "Conversation or channel history", desc: "A page of a conversation with one instance, or of a channel, newest first, read or not. A page stays under 90,000 bytes. For the next page pass the last message's seq as before.",
			result: schemaOf[historyResult]("History"), serve: s.history},
		{method: "GET", path: "/api/v1/threads/{id}", op: "getThread", named: true, pathParams: []param{idParam()},
			query: []param{
				{name: "after", typ: "integer", desc: "only messages with a seq above this: the seq of the last message of the previous page"},
				{name: "limit", typ: "integer", desc: "at most this many messages (200 when absent, and at most)"},
			},
			summary: "A thread", desc: "The thread of a message, oldest first: the request and every reply, a page of at most 200 messages and 90,000 bytes. When more is true, pass the last message's seq as after for the next page.",
			result: schemaOf[threadResult]("Thread"), serve: s.thread},
		{method: "GET", path: "/api/v1/threads/{id}/wait", op: "waitForReply", named: true, pathParams: []param{idParam()},
			query:   []param{{name: "wait", typ: "string", desc: "wait up to this long for the first reply, e.g. 20s (at most 10m; " + chatGPTWait + "); absent, the answer comes at once"}},
			summary: "Wait for replies", desc: "The replies that came after a message in its thread, waiting up to wait for the first one if there are none yet. done says a done message came; last is the seq the answer accounts for.",
			result: schemaOf[waitResult]("Replies"), serve: s.waitReply},
		{method: "GET", path: "/api/v1/shared", op: "listShared", named: true,
			summary: "Shared entries", desc: "Every shared key with its description, size and who stored it, without content.",
			result: schemaOf[ipc.ListSharedResult]("SharedList"), serve: s.listShared},
		{method: "GET", path: "/api/v1/shared/{key}", op: "getShared", named: true,
			pathParams: []param{{name: "key", typ: "string", desc: "a shared key: letters, digits, '_', '.', ':' or '-'", required: true}},
			query:      []param{offsetParam("the content")},
			summary:    "Get a shared entry", desc: "The content stored under a shared key, with its description. A content over 90,000 bytes of JSON comes in pages: next_offset, when present, is the offset of the next.",
			result: schemaOf[sharedResult]("SharedEntry"), serve: s.getShared},
		{method: "PUT", path: "/api/v1/shared/{key}", op: "putShared", named: true, body: schemaOf[shareBody]("ShareRequest"),
			pathParams: []param{{name: "key", typ: "string", desc: "a shared key: letters, digits, '_', '.', ':' or '-'", required: true}},
			summary:    "Share content", desc: "Stores content under a shared key for any instance to get, replacing what was there. Send a message pointing at it (shared) rather than bulk text.",
			result: schemaOf[ipcmesh.Shared]("SharedStored"), serve: s.putShared},
		{method: "GET", path: "/api/v1/search", op: "searchMessages", named: true,
			query: []param{
				{name: "q", typ: "string", desc: "words every match holds; give q, or at least one of from, channel, since and until"},
				{name: "from", typ: "string", desc: "only messages from this instance"},
				{name: "channel", typ: "string", desc: "only posts to this channel"},
				{name: "since", typ: "string", desc: "only messages at or after this RFC 3339 time or date"},
				{name: "until", typ: "string", desc: "only messages at or before this RFC 3339 time or date"},
				{name: "before", typ: "integer", desc: "only matches with a seq below this: the seq of the last message of the previous page"},
				limitParam("matches"),
			},
			summary: "Search messages", desc: "Messages the name may read holding every word of q, newest first, by sender, channel and time; the filters alone, without q, find all they let through. A page stays under 90,000 bytes. When more is true, pass the last seq as before for the next page.",
			result: schemaOf[searchResult]("SearchResult"), serve: s.search},
		{method: "PUT", path: "/api/v1/status", op: "setStatus", named: true, body: schemaOf[statusBody]("StatusRequest"),
			summary: "Set status", desc: "Sets the name's status line (what it is doing) and description (what it is for), shown in the instance list. A field left out keeps its value; an empty string clears it.",
			result: schemaOf[statusResult]("Status"), serve: s.setStatus},
		{method: "GET", path: "/api/v1/events", op: "streamEvents", named: true, events: true, stream: "text/event-stream",
			headers: []param{{name: "Last-Event-ID", typ: "string",
				desc: "the id of the last message event a reconnecting client got: the unread messages after it (at most 100) come as events after ready, whose replay says how many, or why none; read the rest with GET /api/v1/messages"}},
			summary: "New mail as it comes", desc: "Server-sent events for the name: ready ({name, unread}), then a message event per new message, direct or in its channels; with Last-Event-ID, the unread ones after it first. Pings every 15s. Events do not mark mail read. It never ends: a ChatGPT action uses checkMessages with wait instead.",
			serve: s.events},
	}
}
