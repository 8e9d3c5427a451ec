package bench

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"
)

// figContext measures what bounds the others on this machine: the cost of
// an fsync in the mesh folder and a loopback TCP round trip.
func (r *runner) figContext(ctx context.Context, res *results) error {
	f, err := os.Create(filepath.Join(r.root, "fsync-probe"))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var syncs []float64
	for i := range 200 {
		t := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		syncs = append(syncs, ms(time.Since(t)))
	}
	res.add("x.fsync", percentile(syncs, 50))
	res.note("x.fsync", "a 4 KiB write and fsync, p50 of 200, p99 %.3f ms; a bbolt commit costs about two", percentile(syncs, 99))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	b := make([]byte, 64)
	var rtts []float64
	for range 2000 {
		t := time.Now()
		if _, err := c.Write(b); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		rtts = append(rtts, ms(time.Since(t)))
	}
	res.add("x.rtt", percentile(rtts, 50))
	res.note("x.rtt", "64 bytes there and back between two goroutines of the bench process, p50 of 2000, p99 %.3f ms", percentile(rtts, 99))
	return nil
}
