package sandbox

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Runner runs a package's tests; *testing.M is one. (An interface, so that
// binaries using the sandbox outside tests do not link package testing.)
type Runner interface {
	Run() int
}

// Main is a TestMain body for packages whose integration tests share
// clusters. It runs setup (typically starting clusters into package
// variables and returning their Stop), then the tests, then stop, and exits
// with the tests' status, or 1 if setup or stop fail.
//
// SIGINT and SIGTERM cancel setup's ctx or, once setup is done, run stop
// and exit with status 1, so an interrupted test run leaves nothing behind;
// a second signal kills the process at once (the servers still die with it;
// see doc.go). setup must clean up after itself when it fails.
//
//	func TestMain(m *testing.M) {
//		sandbox.Main(m, func(ctx context.Context) (func() error, error) {
//			var err error
//			pg, err = sandbox.StartPostgres(ctx, sandbox.Spec{Shards: 2, Replicas: 1})
//			if err != nil {
//				return nil, err
//			}
//			return pg.Stop, nil
//		})
//	}
func Main(m Runner, setup func(ctx context.Context) (stop func() error, err error)) {
	os.Exit(runMain(m, setup))
}

func runMain(m Runner, setup func(ctx context.Context) (stop func() error, err error)) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var (
		mu          sync.Mutex
		setupDone   bool
		interrupted bool
		stopFn      func() error
	)
	// Whoever stops first stops; the other waits for the same result.
	stop := sync.OnceValue(func() error {
		mu.Lock()
		fn := stopFn
		mu.Unlock()
		if fn == nil {
			return nil
		}
		return fn()
	})

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-finished:
			return
		}
		signal.Stop(sigs) // a second signal takes the default action: exit now
		fmt.Fprintf(os.Stderr, "sandbox: %v: stopping clusters\n", sig)
		cancel()
		mu.Lock()
		interrupted = true
		done := setupDone
		mu.Unlock()
		if !done {
			return // setup sees ctx canceled, cleans up, and runMain returns
		}
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(1)
	}()

	fn, err := setup(ctx)
	mu.Lock()
	setupDone, stopFn = true, fn
	wasInterrupted := interrupted
	mu.Unlock()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: setup: %v\n", err)
		return 1
	}
	if wasInterrupted {
		if err := stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		return 1
	}
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}
