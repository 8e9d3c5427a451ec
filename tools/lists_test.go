package tools_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// manyLines is how many instances, channels or shared keys the tests of
// this file make, each with a description of wordy bytes: together well
// over the 64 KiB a list shows.
const manyLines = 160

var wordy = strings.Repeat("words ", 80)

// bigMesh is a private mesh for a test that makes hundreds of records
// that only it reads, as fast as it can: its store skips fsync, and its
// broker lets one connection register many names.
func bigMesh(t *testing.T) election.Config {
	t.Helper()
	cfg := mcptest.MeshConfig(t)
	cfg.Store.NoSync = true
	cfg.Limits.RegisterPerSecond, cfg.Limits.RegisterBurst = 1000, 1000
	return cfg
}

// each runs make for i in [0, manyLines) as seed, stopping the test at the
// first error.
func each(t *testing.T, make func(ctx context.Context, i int) error) {
	t.Helper()
	for i := range manyLines {
		if err := make(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
}

// list_instances ends at about 64 KiB and says how many it left out:
// those seen longest ago, never the caller or another online instance.
func TestListInstancesBoundsItsText(t *testing.T) {
	cfg := bigMesh(t)
	seed := mcptest.JoinAs(t, cfg, "seed")
	each(t, func(ctx context.Context, i int) error {
		if _, err := seed.Register(ctx, fmt.Sprintf("agent-%03d", i)); err != nil {
			return err
		}
		return seed.UpdateStatus(ctx, ipc.SetStatusRequest{Status: "reviewing " + strings.Repeat("auth.go ", 20), Description: wordy})
	})
	mcptest.JoinAs(t, cfg, "zed") // online, and last by name
	c := serveStdio(t, cfg)
	c.OK("register", map[string]any{"name": "alice"})

	got := c.OK("list_instances", nil)
	if len(got) > 80<<10 {
		t.Errorf("list_instances is %d bytes of text, want a bound of about 64 KiB", len(got))
	}
	mcptest.Contains(t, "list_instances", got, fmt.Sprintf("%d instances registered, 3 online", manyLines+3),
		"- alice (you): online", "- zed: online", fmt.Sprintf("- agent-%03d: online", manyLines-1), fmt.Sprintf("- agent-%03d: offline", manyLines-2),
		"more instances not shown", "A send to one of their names reaches it all the same")
	mcptest.NotContains(t, "list_instances", got, "- agent-000:")
	if strings.Index(got, "- zed:") > strings.Index(got, fmt.Sprintf("- agent-%03d:", manyLines-2)) {
		t.Errorf("list_instances shows an offline instance before an online one:\n%s", got)
	}
}

// channels list ends at about 64 KiB, counts the channels it left out
// and says how to find them; find shows one of those.
func TestChannelsListBoundsItsText(t *testing.T) {
	cfg := bigMesh(t)
	seed := mcptest.JoinAs(t, cfg, "seed")
	each(t, func(ctx context.Context, i int) error {
		_, err := seed.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: fmt.Sprintf("team-%03d", i), Description: wordy})
		return err
	})
	c := serveStdio(t, cfg)
	c.OK("register", map[string]any{"name": "alice"})

	got := c.OK("channels", map[string]any{"action": "list"})
	if len(got) > 80<<10 {
		t.Errorf("channels list is %d bytes of text, want a bound of about 64 KiB", len(got))
	}
	last := fmt.Sprintf("#team-%03d", manyLines-1)
	mcptest.Contains(t, "channels list", got, fmt.Sprintf("%d channels:", manyLines), "- #team-000:", "more channels not shown", "action find")
	mcptest.NotContains(t, "channels list", got, last)
	mcptest.Contains(t, "channels find", c.OK("channels", map[string]any{"action": "find", "query": last}), "1 channel matching", last)
}

// get_shared without a key lists the keys newest first up to about
// 64 KiB, and counts the oldest it left out.
func TestSharedListBoundsItsText(t *testing.T) {
	cfg := bigMesh(t)
	seed := mcptest.JoinAs(t, cfg, "seed")
	each(t, func(ctx context.Context, i int) error {
		_, err := seed.Share(ctx, fmt.Sprintf("report-%03d", i), "x", wordy)
		return err
	})
	c := serveStdio(t, cfg)
	c.OK("register", map[string]any{"name": "alice"})

	got := c.OK("get_shared", nil)
	if len(got) > 80<<10 {
		t.Errorf("the list of shared keys is %d bytes of text, want a bound of about 64 KiB", len(got))
	}
	newest := fmt.Sprintf("- report-%03d:", manyLines-1)
	mcptest.Contains(t, "get_shared", got, fmt.Sprintf("%d keys shared, newest first", manyLines), newest, "more keys not shown", "the oldest")
	mcptest.NotContains(t, "get_shared", got, "- report-000:")
}
