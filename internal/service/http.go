package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/httpapi"
)

// ListeningMessage is the message of the log line naming the address the
// HTTP endpoints listen on, in its "addr" attribute: with http.listen port
// 0 the kernel picks the port, and a process that started the connector
// (the bench) learns it from this line.
const ListeningMessage = "http endpoints listening"

// serveHTTP serves /metrics, /healthz, /readyz and /stats on http.listen;
// stop shuts the server down, waiting up to 2 seconds.
func (s *Service) serveHTTP() (stop func(), err error) {
	addr := s.cfg.HTTP.Listen
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	ping := func(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }
	srv := &http.Server{Handler: httpapi.NewHandler(s.Connector, ping, s.reg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "error", err)
		}
	}()
	s.log.Info(ListeningMessage, "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz /stats")
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}
