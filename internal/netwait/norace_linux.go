//go:build linux && !race

package netwait

// raceRead and raceWrite tell the race detector about raw I/O
// (race_linux.go); without -race they are nothing.
func raceRead(uintptr, []byte, int) {}

func raceWrite(uintptr, []byte) {}
