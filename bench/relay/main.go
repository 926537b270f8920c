// Command relay is a bare TCP relay: the reference for what user-space
// forwarding costs on the same cores, with no parsing at all. Two
// goroutines per connection copy bytes (io.Copy between two sockets is
// splice(2) on Linux: the bytes never enter user space, so its user time
// is the scheduler's and the system calls' only). Usage: relay LISTEN TARGET
package main

import (
	"io"
	"log"
	"net"
	"os"
	"strings"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: relay LISTEN_ADDR TARGET_ADDR")
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			network := "tcp"
			if strings.HasPrefix(os.Args[2], "/") {
				network = "unix" // a Postgres socket file
			}
			s, err := net.Dial(network, os.Args[2])
			if err != nil {
				c.Close()
				return
			}
			go func() { io.Copy(s, c); s.Close() }()
			io.Copy(c, s)
			c.Close()
		}()
	}
}
