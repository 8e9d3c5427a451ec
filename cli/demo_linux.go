package cli

import (
	"os/exec"
	"syscall"
)

// tieToDemo makes the kernel kill the demo's broker when the demo's
// process ends without stopping it (kill -9, a crash): run in the
// foreground, the broker never stops for want of peers, and would serve
// on its port for good.
func tieToDemo(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
