// Package doctor tries every door to the data with what the user has (a
// Grafana URL, a source URL, credentials for either) and says, door by
// door, whether it opens: Grafana reachable, its credentials accepted, the
// datasource found, /api/ds/query, the datasource proxy and the resources
// path returning data, and the Prometheus HTTP API and remote read read
// directly. Each door gets the smallest request that proves it (one minute
// near now, one selector), and none is retried for long: a doctor answers
// in seconds, and writes nothing.
//
// In the incident the tool was made for, the user tried three doors before
// one opened, each refusal worded by a different server; the report puts
// them side by side, each with its fix, and names the best door that
// returned samples, so the program can print the recovery to run.
//
// Grafana's credentials and the source's are kept apart: a command that
// talks to both must not send a Grafana token to the source, nor an access
// policy token to Grafana.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/promapi"
	"github.com/promrecover/promrecover/remoteread"
)

// State is how a door answered.
type State string

const (
	Works       State = "works"       // it answered as it should (see Row.Samples for data)
	Refused     State = "refused"     // it answered with a refusal, or the request could not be sent as given
	NotTried    State = "not-tried"   // nothing to try it with, or a door before it is shut
	Unreachable State = "unreachable" // nothing answered at the address
)

// Door names one way in, in the order the report lists them.
type Door string

const (
	Health      Door = "grafana"     // Grafana reachable: /api/health
	Credentials Door = "credentials" // Grafana's credentials accepted
	Datasource  Door = "datasource"  // the datasource found
	DSQuery     Door = "ds"          // /api/ds/query returns samples
	Proxy       Door = "proxy"       // the datasource proxy returns samples
	Resources   Door = "resources"   // the datasource's resources path (label lookups)
	Prometheus  Door = "prometheus"  // the Prometheus HTTP API, read directly
	RemoteRead  Door = "remote-read" // remote read, read directly
)

// grafanaDoors are the rows that need Grafana, in order.
var grafanaDoors = []Door{Health, Credentials, Datasource, DSQuery, Proxy, Resources}

// bestFirst are the doors that return samples, the best first: remote read
// carries the stored chunks exactly and in the fewest bytes, the HTTP API
// native histograms without Grafana in the way, the proxy native
// histograms through Grafana, /api/ds/query neither.
var bestFirst = []Door{RemoteRead, Prometheus, Proxy, DSQuery}

// Row is one door's verdict.
type Row struct {
	Door    Door   `json:"door"`
	State   State  `json:"state"`
	Status  int    `json:"status,omitempty"` // the HTTP status of a refusal
	Message string `json:"message"`
	Fix     Fix    `json:"fix,omitempty"`
	// Series and Samples count what a door that returns data returned;
	// histograms count as samples.
	Series  int `json:"series,omitempty"`
	Samples int `json:"samples,omitempty"`
	// Err is the error behind a refusal, for the program to word as its
	// user reads it; Message is its text.
	Err error `json:"-"`
}

// Report is every door's row, in the order of the doors, and the best door
// that returned samples ("" when none did).
type Report struct {
	Rows []Row `json:"rows"`
	Best Door  `json:"best,omitempty"`
	// Datasource is the datasource found, for the command line that reads
	// it; zero when none was.
	Datasource grafana.Datasource `json:"-"`
	// From and To are the probe's range (epoch ms), Selector its selector.
	From, To int64  `json:"-"`
	Selector string `json:"-"`
}

// Row returns the row of door.
func (r Report) Row(door Door) Row {
	for _, row := range r.Rows {
		if row.Door == door {
			return row
		}
	}
	return Row{Door: door, State: NotTried}
}

// Source is where a Prometheus API is read directly, with its own
// credentials: basic auth (Grafana Cloud: the instance ID and an access
// policy token) or a Bearer token.
type Source struct {
	URL                   string
	User, Password, Token string
	Tenant                string // sent as X-Scope-OrgID
}

// DefaultMatch is the selector of the probe when none is given: every
// Prometheus, and Grafana Cloud, has up.
const DefaultMatch = "up"

// Config is what the user has. The source's clients take Grafana's
// Timeout, MaxRetries, UserAgent, Log and Redact.
type Config struct {
	Grafana    grafana.Options // URL "" when no Grafana is given
	Datasource string          // "" for the only Prometheus datasource
	Source     Source          // URL "" when no source is given
	Match      string          // "" is DefaultMatch
	// End ends the probe's minute; zero is a minute ago, so that the
	// samples of the last scrapes have arrived.
	End time.Time
}

// Run tries every door. The error is for what cannot be asked as given (a
// bad selector, two kinds of credentials, an address that is no URL), an
// *extract.UsageError; every door's own trouble is in its row.
func Run(ctx context.Context, cfg Config) (Report, error) {
	unit, err := probeUnit(cfg)
	if err != nil {
		return Report{}, err
	}
	r := &run{cfg: cfg, unit: unit, rep: Report{From: unit.From, To: unit.To, Selector: unit.Selector}}
	if err := r.grafana(ctx); err != nil {
		return Report{}, err
	}
	if err := r.direct(ctx); err != nil {
		return Report{}, err
	}
	for _, door := range bestFirst {
		if r.rep.Row(door).Samples > 0 {
			r.rep.Best = door
			break
		}
	}
	return r.rep, nil
}

// probeUnit is the smallest request that proves a door: the selector over
// the last whole minute before End, inside one 2h window.
func probeUnit(cfg Config) (extract.Unit, error) {
	end := cfg.End
	if end.IsZero() {
		end = time.Now().Add(-time.Minute)
	}
	to := end.Truncate(time.Second).UnixMilli()
	if into := to % extract.WindowMs; into > 0 && into < time.Minute.Milliseconds() {
		to -= into
	}
	match := cfg.Match
	if match == "" {
		match = DefaultMatch
	}
	plan, err := extract.NewPlan(time.UnixMilli(to-time.Minute.Milliseconds()), time.UnixMilli(to), 0, []string{match})
	if err != nil {
		return extract.Unit{}, err
	}
	if len(plan.Selectors) != 1 {
		return extract.Unit{}, extract.Usagef("give one selector")
	}
	return plan.Units()[0], nil
}

type run struct {
	cfg  Config
	unit extract.Unit
	rep  Report
}

func (r *run) add(row Row) {
	row.Fix = fixFor(row)
	r.rep.Rows = append(r.rep.Rows, row)
}

// skip adds the doors as not tried, for why.
func (r *run) skip(why string, doors ...Door) {
	for _, d := range doors {
		r.add(Row{Door: d, State: NotTried, Message: why})
	}
}

// refusal is the row of a door that failed with err: unreachable when no
// HTTP answer came (nothing listening, no such host, a certificate not
// trusted), refused otherwise.
func refusal(door Door, err error) Row {
	row := Row{Door: door, State: Refused, Status: statusOf(err), Message: err.Error(), Err: err}
	var ne net.Error
	if row.Status == 0 && errors.As(err, &ne) {
		row.State = Unreachable
	}
	return row
}

// statusOf is the HTTP status behind err, 0 when none.
func statusOf(err error) int {
	var (
		ge *grafana.StatusError
		pe *promapi.AnswerError
		re *remoteread.StatusError
	)
	switch {
	case errors.As(err, &ge):
		return ge.Status
	case errors.As(err, &pe):
		return pe.HTTPStatus
	case errors.As(err, &re):
		return re.Status
	}
	return 0
}

// samples streams the probe's unit from src into a row of door.
func (r *run) samples(ctx context.Context, door Door, src extract.Source) Row {
	row := Row{Door: door, State: Works}
	err := src.Stream(ctx, r.unit, func(ss []extract.Series) error {
		for _, s := range ss {
			row.Series++
			row.Samples += len(s.Samples) + len(s.Histograms)
		}
		return nil
	})
	if err != nil {
		return refusal(door, err)
	}
	span := fmt.Sprintf("%s in %s..%s", r.unit.Selector, msTime(r.unit.From), msTime(r.unit.To))
	if row.Samples == 0 {
		row.Message = "answered, but with no samples of " + span
		return row
	}
	row.Message = fmt.Sprintf("%d samples of %d series of %s", row.Samples, row.Series, span)
	return row
}

func msTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

// forbidden says whether err is a 403: credentials accepted, an action not
// allowed to them.
func forbidden(err error) bool {
	var se *grafana.StatusError
	return errors.As(err, &se) && se.Status == http.StatusForbidden
}
