package cluster_test

import (
	"context"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

func TestMain(m *testing.M) { os.Exit(natstest.Main(m, new(natstest.Cluster))) }

// reportedTry finds a failed try of a route reported as an error.
var reportedTry = regexp.MustCompile(`level=ERROR msg="Error trying to connect to route \(attempt (\d+)\)`)

// A node whose peer's host died tries its routes to it again each second;
// the server reported every failed try as an error by default, so a host
// down for an hour wrote thousands of lines into the terminal and the log
// of each broker that runs a node. The first is reported, then one a
// minute.
func TestLostRouteIsNotReportedEachSecond(t *testing.T) {
	t.Parallel()
	nodes := natstest.StartProcs(t)
	// The routes are up once the cluster answers for JetStream.
	nc, err := nats.Connect(nodes.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	testbin.Eventually(t, testTimeout, "the cluster to answer for JetStream", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})

	nodes.Kill(2)
	// Each node left tries each of its routes to the dead one once a
	// second: some rounds of tries are a few dozen.
	testbin.Eventually(t, testTimeout, "the nodes left to try their routes to the dead one a few dozen times", func() bool {
		return strings.Count(nodes.Log(0)+nodes.Log(1), "Trying to connect to route") >= 40
	})
	for i := range 2 {
		var reported []int
		for _, m := range reportedTry.FindAllStringSubmatch(nodes.Log(i), -1) {
			n, _ := strconv.Atoi(m[1])
			reported = append(reported, n)
		}
		if len(reported) == 0 {
			t.Errorf("node %s reported no failed try of its routes to the dead node; want the first of each", nodes.Name(i))
		}
		for _, n := range reported {
			if n != 1 && n%60 != 0 {
				t.Errorf("node %s reported these failed tries of its routes to the dead node as errors: %v; want the first of each route, then one a minute", nodes.Name(i), reported)
				break
			}
		}
	}
}
