// Package textpage cuts a long text into pages at byte offsets, so that a
// message or a shared value of megabytes can be read a page at a time by
// a reader that cannot take it all at once (a model over MCP, a ChatGPT
// action over the HTTP face). Every face cuts where the others do: a page
// starts and ends between two characters, never inside one.
package textpage

import "unicode/utf8"

// Start is where a page asked for at byte offset begins: there, or back
// at the start of the character offset falls inside, for an offset a
// reader worked out itself rather than took from the page before. Cut
// there, the page would begin with bytes that are no text. An offset
// past the end of text is the caller's to refuse: Start leaves it as it
// is.
func Start(text string, offset int) int {
	for offset > 0 && offset < len(text) && !utf8.RuneStart(text[offset]) {
		offset--
	}
	return offset
}

// End is where the page of text that starts at byte offset ends when a
// page holds at most most bytes: as far on as that allows, between two
// characters.
func End(text string, offset, most int) int {
	end := min(offset+most, len(text))
	for end < len(text) && end > offset && !utf8.RuneStart(text[end]) {
		end--
	}
	return end
}
