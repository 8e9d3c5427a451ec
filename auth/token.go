package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// Token is what a session token says: who holds the session, which session it
// is, and until when it may be resumed.
type Token struct {
	Name      string
	SessionID string
	// Expires is kept to the second, rounded down.
	Expires time.Time
}

// tokenPrefix names the token format, so a later format can be told apart.
const tokenPrefix = "v1."

// maxTokenLen bounds what ParseToken decodes. A real token is under 200 bytes.
const maxTokenLen = 512

// maxExpiry (9999-12-31T23:59:59Z) keeps expiries far from where time.Time
// arithmetic overflows.
const maxExpiry = 253402300799

// b64 is strict so that each token has exactly one spelling: a lax decoder
// would accept variants of a valid token that differ in their padding bits.
var b64 = base64.RawURLEncoding.Strict()

// tokenPayload is the signed part of a token, in compact JSON.
type tokenPayload struct {
	N string `json:"n"`
	S string `json:"s"`
	X int64  `json:"x"`
}

// NewSessionID returns a new random session id: 16 random bytes in hex.
func NewSessionID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make session id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// SignToken returns t as a session token:
//
//	"v1." + base64url(payload) + "." + base64url(HMAC-SHA256(token key, "v1." + payload))
//
// where payload is {"n":NAME,"s":SESSION,"x":EXPIRY_UNIX_SECONDS}. SignToken
// does not check t; ParseToken refuses a token whose name is invalid, whose
// session id is empty, whose expiry is outside 1970-9999 or that is longer
// than 512 bytes. The zero Keys returns "".
func (k Keys) SignToken(t Token) string {
	if k.zero() {
		return ""
	}
	payload, err := json.Marshal(tokenPayload{N: t.Name, S: t.SessionID, X: t.Expires.Unix()})
	if err != nil {
		// Unreachable: the payload holds only strings and an integer.
		return ""
	}
	return tokenPrefix + b64.EncodeToString(payload) + "." + b64.EncodeToString(k.tokenMAC(payload))
}

func (k Keys) tokenMAC(payload []byte) []byte {
	mac := hmac.New(sha256.New, k.token)
	mac.Write([]byte(tokenPrefix))
	mac.Write(payload)
	return mac.Sum(nil)
}

// ParseToken checks that s is a session token signed with k and returns what
// it says. It checks the form, the MAC (in constant time) and the name, but
// not the expiry (see Token.Expired) nor whether the session was revoked,
// which only the broker's store knows. Errors are *ipcmesh.Error with
// CodeUnauthorized; they never repeat the token.
func (k Keys) ParseToken(s string) (Token, error) {
	if k.zero() {
		return Token{}, tokenError("cannot be checked: this peer has no keys")
	}
	if len(s) > maxTokenLen || !tokenChars(s) {
		return Token{}, tokenError("is malformed")
	}
	payload, mac, problem := splitToken(s)
	if problem != "" {
		return Token{}, tokenError(problem)
	}
	if !hmac.Equal(mac, k.tokenMAC(payload)) {
		return Token{}, tokenError("was not signed with this mesh's secret (was the secret changed?)")
	}
	// From here on the payload was made by a holder of the secret; the checks
	// that follow guard against a signer's bug, not an attacker.
	var p tokenPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return Token{}, tokenError("is malformed")
	}
	// Only the canonical encoding is accepted, so a token has one spelling.
	if again, err := json.Marshal(p); err != nil || !bytes.Equal(again, payload) {
		return Token{}, tokenError("is malformed")
	}
	if ipcmesh.ValidateName(p.N) != nil {
		return Token{}, tokenError("holds an invalid name")
	}
	if p.S == "" || p.X <= 0 || p.X > maxExpiry {
		return Token{}, tokenError("is malformed")
	}
	return Token{Name: p.N, SessionID: p.S, Expires: time.Unix(p.X, 0)}, nil
}

// splitToken decodes a token's payload and MAC, or says what is wrong with
// its form.
func splitToken(s string) (payload, mac []byte, problem string) {
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return nil, nil, "has an unknown format"
	}
	p64, m64, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, nil, "is malformed"
	}
	payload, err := b64.DecodeString(p64)
	if err != nil {
		return nil, nil, "is malformed"
	}
	mac, err = b64.DecodeString(m64)
	if err != nil {
		return nil, nil, "is malformed"
	}
	return payload, mac, ""
}

// tokenName returns the name a token's payload says, without checking its
// MAC: enough to tell which name a file's token is for, never to trust it.
func tokenName(s string) (string, bool) {
	p, ok := unverified(s)
	return p.N, ok
}

// unverified returns what a token's payload says, without checking its
// MAC: enough to sort a keyring's files, never to trust.
func unverified(s string) (tokenPayload, bool) {
	payload, _, problem := splitToken(s)
	if problem != "" {
		return tokenPayload{}, false
	}
	var p tokenPayload
	if json.Unmarshal(payload, &p) != nil || p.N == "" {
		return tokenPayload{}, false
	}
	return p, true
}

// tokenChars reports whether s uses only the characters of a token. The
// base64 decoder skips newlines even in strict mode; this does not.
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func tokenError(what string) *ipcmesh.Error {
	return ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "the session token %s: register again to get a new one", what)
}

// Expired reports whether t may no longer be used at now. A token expires at
// the instant of its expiry.
func (t Token) Expired(now time.Time) bool {
	return !now.Before(t.Expires)
}

// labelSessionTag is what SessionTag MACs: a purpose of its own, so that
// the tag can never pass for a token's MAC or be one.
const labelSessionTag = "ipcmesh/v1 session secret tag"

// SessionTag is a short tag of the secret k came from, recorded with each
// session, so that a session made under another secret counts as over:
// "change the secret and every name must be registered again" then holds
// for the sessions as for the tokens. Without it the sessions made under
// the old secret held their names for a day after the change, and nothing
// could register them again. Four bytes tell two secrets apart but by a
// chance of one in four billion. A guess of a weak secret can be tested
// against a tag, as against the broker's handshake proof, which anyone
// who reaches the port gets: each guess costs the argon2id stretch of
// LoadSecret. The zero Keys returns "".
func (k Keys) SessionTag() string {
	if k.zero() {
		return ""
	}
	mac := hmac.New(sha256.New, k.token)
	mac.Write([]byte(labelSessionTag))
	return hex.EncodeToString(mac.Sum(nil)[:4])
}
