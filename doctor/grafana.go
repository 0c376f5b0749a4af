package doctor

import (
	"context"
	"fmt"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
)

// grafana tries the doors through Grafana, each only once the one before
// it opened: without /api/health nothing else answers, without credentials
// no datasource is found, without a datasource nothing is queried.
func (r *run) grafana(ctx context.Context) error {
	opts := r.cfg.Grafana
	if opts.URL == "" {
		r.skip("no Grafana URL given", grafanaDoors...)
		return nil
	}
	// The credentials are checked before anything is sent, but /api/health
	// needs none and is asked without them: a token Grafana can never take
	// is its own row, not this one's.
	client, credErr := r.client(opts)
	bare := opts
	bare.Auth = grafana.Auth{CookieName: opts.Auth.CookieName}
	hc, err := grafana.NewClient(bare)
	for _, e := range []error{err, credErr} {
		if extract.IsUsage(e) {
			return e
		}
	}
	if err == nil {
		err = r.health(ctx, hc)
	}
	if err != nil {
		r.add(refusal(Health, err))
		r.skip("Grafana did not answer", grafanaDoors[1:]...)
		return nil
	}
	if credErr != nil {
		err := fmt.Errorf("not sent: %w", credErr)
		r.add(Row{Door: Credentials, State: Refused, Message: err.Error(), Err: err})
		r.skip("the credentials were not sent", grafanaDoors[2:]...)
		return nil
	}
	if !r.credentials(ctx, client) {
		r.skip("Grafana refused the credentials", grafanaDoors[2:]...)
		return nil
	}
	ds, err := client.ResolveDatasource(ctx, r.cfg.Datasource)
	if err != nil {
		r.add(refusal(Datasource, err))
		r.skip("no datasource found", grafanaDoors[3:]...)
		return nil
	}
	r.rep.Datasource = ds
	r.add(Row{Door: Datasource, State: Works, Message: fmt.Sprintf("%s (%s), of type %s", ds.UID, ds.Name, ds.Type)})
	r.add(r.samples(ctx, DSQuery, &grafana.Source{Client: client, Datasource: ds, Via: grafana.DSQuery}))
	r.add(r.samples(ctx, Proxy, &grafana.Source{Client: client, Datasource: ds, Via: grafana.Proxy}))
	r.add(r.resources(ctx, &grafana.Source{Client: client, Datasource: ds}))
	return nil
}

// health adds the row of /api/health when it answers.
func (r *run) health(ctx context.Context, hc *grafana.Client) error {
	version, err := hc.Health(ctx)
	if err == nil {
		r.add(Row{Door: Health, State: Works, Message: "Grafana " + version + " answers at " + hc.URL()})
	}
	return err
}

// client is the Grafana client with the credentials; a session is taken
// from a pasted Cookie header as every command takes it.
func (r *run) client(opts grafana.Options) (*grafana.Client, error) {
	if opts.Auth.Session != "" {
		v, err := grafana.SessionValue(opts.Auth.Session, opts.Auth.CookieName)
		if err != nil {
			return nil, err
		}
		opts.Auth.Session = v
	}
	return grafana.NewClient(opts)
}

// credentials adds the row of Grafana's verdict on the credentials, asked
// with the list of datasources, and says whether they were accepted. A 403
// accepts them: listing is an Admin's right, querying may still be allowed.
func (r *run) credentials(ctx context.Context, client *grafana.Client) bool {
	list, err := client.Datasources(ctx)
	switch {
	case err == nil:
		n := 0
		for _, ds := range list {
			if ds.Type == "prometheus" {
				n++
			}
		}
		r.add(Row{Door: Credentials, State: Works, Message: fmt.Sprintf("accepted; they see %d Prometheus datasources", n)})
	case forbidden(err):
		r.add(Row{Door: Credentials, State: Works, Status: 403, Message: "accepted; they may not list datasources (" + err.Error() + ")"})
	default:
		r.add(refusal(Credentials, err))
		return false
	}
	return true
}

// resources asks the datasource's resources path for the label names of
// the probe's series: the lookups that shard and split a recovery.
func (r *run) resources(ctx context.Context, src *grafana.Source) Row {
	names, err := src.LabelNamesVia(ctx, grafana.SeriesAPI, r.unit.Selector, r.unit.From, r.unit.To)
	if err != nil {
		return refusal(Resources, err)
	}
	return Row{Door: Resources, State: Works, Message: fmt.Sprintf("label lookups answer: %d label names of %s", len(names), r.unit.Selector)}
}
