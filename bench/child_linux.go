package bench

import "syscall"

// childProcAttr asks the kernel to send the child SIGTERM if the bench dies
// first, so no contender outlives it.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
