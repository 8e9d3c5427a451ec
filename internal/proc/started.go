package proc

// Running reports whether process pid is running and is the process whose
// Started gave started. A record that names a pid keeps that mark beside
// it, so that the pid, once another process has it (after a reboot, or
// once the system's pids wrapped around, within days on macOS), is not
// taken for the process that wrote the record. With started "" (a record
// written before the mark was kept) or where the system does not tell, it
// is Alive(pid).
func Running(pid int, started string) bool {
	if !Alive(pid) {
		return false
	}
	if started == "" {
		return true
	}
	mark, err := Started(pid)
	return err != nil || mark == started
}
