// Package auth provides what lets peers of one mesh trust each other: the
// shared master secret, the keys derived from it, the handshake proofs, the
// session tokens, the client's keyring of tokens and the broker's rate limits.
//
// It promises:
//
//   - The master secret never leaves the process. Everything that crosses the
//     wire is an HMAC under a key derived from it with HKDF, one key per use,
//     so a value made for one purpose is never valid for another.
//   - Handshake proofs are bound to a role, a protocol version and both
//     nonces, so a proof cannot be replayed on another connection, reflected
//     from broker to client, or carried to another version.
//   - Every comparison of a secret value runs in constant time.
//   - Session tokens can be checked by any broker that holds the secret, so
//     they survive a failover; revoking one is the broker's job (it keeps the
//     session ids it issued).
//   - Files that hold secrets are private to the user: 0600 in 0700 folders,
//     written whole or not at all.
//
// Nothing here keeps global state; every value is safe to copy, and Limiter is
// safe for concurrent use.
package auth
