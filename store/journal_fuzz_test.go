package store

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzParseJournal reads arbitrary bytes as a journal left on disk: it
// never panics, a record it returns is one a writer laid out whole, and
// what it reads, written again, reads back the same.
func FuzzParseJournal(f *testing.F) {
	// The smallest page a journal may name: the inputs stay short, and
	// the fuzzer, which minimizes each new one before it goes on, stays
	// quick.
	page := make([]byte, 512)
	one := appendRecord(appendHeader(nil, checkpoint{txid: 7, page: page}), 7, []byte(`[{"now":1,"drafts":[{"ID":"m1","From":"a","To":"b","Content":"hi"}]}]`))
	two := appendRecord(slices.Clone(one), 7, []byte(`[]`))
	f.Add(one)
	f.Add(two)
	f.Add(two[:len(two)-1])
	f.Add(appendRecord(slices.Clone(one), 8, []byte(`[]`)))
	f.Add([]byte(journalMagic))
	f.Add(make([]byte, headerFixed))
	f.Fuzz(func(t *testing.T, data []byte) {
		ck, payloads, ok := parseJournal(data)
		if !ok {
			if len(payloads) != 0 {
				t.Fatalf("no header, yet %d records", len(payloads))
			}
			return
		}
		again := appendHeader(nil, ck)
		for _, p := range payloads {
			if len(p) > maxRecord {
				t.Fatalf("a record of %d bytes", len(p))
			}
			again = appendRecord(again, ck.txid, p)
		}
		if !bytes.HasPrefix(data, again) {
			t.Fatal("what was read is not the start of the journal")
		}
		ck2, payloads2, ok2 := parseJournal(again)
		if !ok2 || ck2.txid != ck.txid || !bytes.Equal(ck2.page, ck.page) || len(payloads2) != len(payloads) {
			t.Fatalf("written again, the journal reads back as %v, %d records; want %d records", ok2, len(payloads2), len(payloads))
		}
	})
}
