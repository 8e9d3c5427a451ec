package sample

import (
	"bytes"
	"crypto/hmac"
	"crypto/subtle"
)

type key struct{ mac []byte }

func (k *key) good(mac []byte) bool { return hmac.Equal(mac, k.mac) }

func plain(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func leaky(mac, other []byte, sessionID string, s struct{ SessionID string }) bool {
	if len(mac) == 0 || mac == nil || sessionID == "" {
		return false
	}
	return bytes.Equal(other, mac) || sessionID != s.SessionID
}
