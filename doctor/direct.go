package doctor

import (
	"context"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/promapi"
	"github.com/promrecover/promrecover/remoteread"
)

// direct tries the source's two doors, each on its own: a server may serve
// remote read and refuse the query API (a gateway), or the reverse.
func (r *run) direct(ctx context.Context) error {
	src, g := r.cfg.Source, r.cfg.Grafana
	if src.URL == "" {
		r.skip("no source URL given", Prometheus, RemoteRead)
		return nil
	}
	client := promapi.New(src.URL, promapi.Options{
		Auth:   promapi.Auth{User: src.User, Password: src.Password, Token: src.Token},
		Tenant: src.Tenant, Timeout: g.Timeout, MaxRetries: g.MaxRetries, RetryWait: g.RetryInitial,
		UserAgent: g.UserAgent, Log: g.Log, Redact: g.Redact,
	})
	// Check proves the address and the credentials with vector(0), and
	// refuses what cannot be sent as given before anything is.
	if err := client.Check(ctx); err != nil {
		if extract.IsUsage(err) {
			return err
		}
		r.add(refusal(Prometheus, err))
	} else {
		r.add(r.samples(ctx, Prometheus, &promapi.Source{Client: client}))
	}
	r.add(r.remoteRead(ctx))
	return nil
}

// remoteRead reads the probe's unit through remote read and says whether
// the server streamed its chunks.
func (r *run) remoteRead(ctx context.Context) Row {
	src, g := r.cfg.Source, r.cfg.Grafana
	retries := int(g.MaxRetries)
	if retries == 0 {
		retries = -1 // remoteread's "none"
	}
	rr, err := remoteread.New(src.URL, remoteread.Options{
		Tenant: src.Tenant, User: src.User, Password: src.Password, Token: src.Token,
		UserAgent: g.UserAgent, Timeout: g.Timeout, Retries: retries, RetryWait: g.RetryInitial, Log: g.Log,
	})
	if err != nil {
		return refusal(RemoteRead, err)
	}
	row := r.samples(ctx, RemoteRead, rr)
	if row.State != Works {
		return row
	}
	if streamed, known := rr.Streamed(); known && streamed {
		row.Message += ", as streamed chunks"
	} else if known {
		row.Message += ", as samples: the server does not stream chunks"
	}
	return row
}
