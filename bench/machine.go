package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Machine describes where the figures come from.
type Machine struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	NumCPU int    `json:"nproc"`
	CPU    string `json:"cpu,omitempty"`
	Go     string `json:"go"`
	Kernel string `json:"kernel,omitempty"`
	Folder string `json:"folder"`
	// BusyBefore is the share of CPU time (0-1) the machine spent busy in
	// the moment before the run (linux only): other work running then
	// likely shared the machine with the bench, and the figures understate
	// the mesh. LoadBefore and LoadAfter are the 1-minute load averages.
	BusyBefore float64 `json:"busy_before"`
	LoadBefore float64 `json:"load_before,omitempty"`
	LoadAfter  float64 `json:"load_after,omitempty"`
}

// machine describes this machine and the folder the meshes live in.
func machine(dir string) Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, NumCPU: runtime.NumCPU(), Go: runtime.Version(), Folder: dir}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadBefore = loadAverage()
	m.BusyBefore = cpuBusy(time.Second)
	return m
}

// cpuBusy returns the share of CPU time spent busy over the next d, from
// /proc/stat; 0 where there is none.
func cpuBusy(d time.Duration) float64 {
	busy0, total0, ok := cpuTimes()
	if !ok {
		return 0
	}
	time.Sleep(d)
	busy1, total1, ok := cpuTimes()
	if !ok || total1 <= total0 {
		return 0
	}
	return float64(busy1-busy0) / float64(total1-total0)
}

// cpuTimes reads the machine's busy and total CPU ticks: every state but
// idle and iowait is busy.
func cpuTimes() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, false
	}
	for i, s := range f[1:] {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i >= 8 { // guest time is counted in user already
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, true
}

// loadAverage is the 1-minute load average, 0 where /proc has none.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
