package netwait

import "syscall"

func recvPeek(fd uintptr, p []byte) (int, syscall.Sockaddr, error) {
	return syscall.Recvfrom(int(fd), p, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
}
