package cli

import (
	"strings"
	"testing"
	"time"
)

// IPC_HTTP_IDLE takes whole days, as the README says every period of
// the environment does (IPC_SESSION_TTL=30d is taken), and a value it
// refuses is named with what it takes.
func TestHTTPIdleTakesDays(t *testing.T) {
	for value, want := range map[string]time.Duration{"1d": 24 * time.Hour, "90m": 90 * time.Minute} {
		_, _, idle, err := httpLimits(func(k string) string { return map[string]string{"IPC_HTTP_IDLE": value}[k] })
		if err != nil || idle != want {
			t.Errorf("IPC_HTTP_IDLE=%s: %v, %v; want %v", value, idle, err, want)
		}
	}
	for _, value := range []string{"10min", "0", "-1m", "10"} {
		_, _, _, err := httpLimits(func(k string) string { return map[string]string{"IPC_HTTP_IDLE": value}[k] })
		if err == nil || !strings.Contains(err.Error(), `IPC_HTTP_IDLE="`+value+`"`) || !strings.Contains(err.Error(), "such as 10m") {
			t.Errorf("IPC_HTTP_IDLE=%s: %v; want an error naming it and what it takes", value, err)
		}
	}
}

// A value of the face's settings or of IPC_LOG with a space or a newline
// at an end (a config file's "warn ") reads as the right one: the error
// says what is wrong with it, not only what the setting takes.
func TestSettingWithWhitespaceSaysSo(t *testing.T) {
	for _, name := range []string{"IPC_HTTP_RATE", "IPC_HTTP_BURST", "IPC_HTTP_IDLE"} {
		value := map[string]string{"IPC_HTTP_RATE": "20 ", "IPC_HTTP_BURST": "40\n", "IPC_HTTP_IDLE": " 10m"}[name]
		_, _, _, err := httpLimits(func(k string) string { return map[string]string{name: value}[k] })
		if err == nil || !strings.Contains(err.Error(), name+"=") || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("%s=%q: %v; want an error naming it and the whitespace to remove", name, value, err)
		}
	}
	if err := checkLogLevel("warn "); err == nil || !strings.Contains(err.Error(), `ends with " ": remove it`) {
		t.Errorf(`IPC_LOG="warn ": %v; want an error saying it ends with a space`, err)
	}
}
