package admin

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"testing"
)

func TestHealthz(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(nil)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/healthz"
	get := func() (int, health) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, h
	}
	if code, h := get(); code != 503 || h.Status != "starting" {
		t.Fatalf("before ready: %d %+v", code, h)
	}
	s.SetReady(true)
	if code, h := get(); code != 200 || h.Status != "ok" {
		t.Fatalf("ready: %d %+v", code, h)
	}
	if resp, err := http.Post(url, "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz: %v %v", resp.StatusCode, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after Shutdown", err)
	}
}
