package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/doctor"
	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/grafana"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/shellquote"
)

func newDoctorCmd(logger func() *slog.Logger) *cobra.Command {
	var f doctorFlags
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Try every door to the data with the credentials given, and say which opens",
		Long: `doctor tries every way to the data with what it is given (--grafana-url
and/or --source-url, and their credentials), each with the smallest request (a
minute of --match near now), and prints one row each: Grafana reachable
(/api/health), its credentials accepted, the datasource found, /api/ds/query,
the datasource proxy and the resources path answering, the Prometheus HTTP API
and remote read read directly. Each row says works, refused, not-tried or
unreachable, with the HTTP status, the message and the fix. It ends with the
recover command line of the best door that returned samples, credentials as
environment variables. It writes nothing.

--user, --password and --token are Grafana's here, --source-* the source's:
doctor sends neither set to the other side.

The exit status is 0 when some door returned samples, 1 when none did.`,
		Example: example("doctor"),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd, logger())
		},
	}
	fs := cmd.Flags()
	f.conn.register(fs)
	// A doctor answers in seconds: one retry, and no request waits for long.
	f.conn.retries, f.conn.timeout = 1, 30*time.Second
	fs.Lookup("retries").DefValue, fs.Lookup("timeout").DefValue = "1", "30s"
	fs.StringVar(&f.conn.datasource, "datasource", "", "uid or name of the Prometheus datasource (default: the only one the credentials see)")
	f.src.register(fs, true)
	fs.StringArrayVar(&f.match, "match", nil, "the series selector of the probe: a minute of it near now is asked through each door (default: "+doctor.DefaultMatch+")")
	fs.StringVar(&f.format, "format", "table", "table, or json for scripts")
	return cmd
}

type doctorFlags struct {
	conn   connFlags
	src    sourceFlags
	match  []string
	format string
}

func (f *doctorFlags) run(cmd *cobra.Command, log *slog.Logger) error {
	if f.format != "table" && f.format != "json" {
		return usagef("--format %q: use table or json", f.format)
	}
	if len(f.match) > 1 {
		return usagef("doctor probes one selector: give --match once")
	}
	probe := doctor.DefaultMatch
	if len(f.match) == 1 {
		probe = f.match[0]
	}
	opts := f.conn.options()
	opts.Log = log
	src := &f.src
	src.fromEnv()
	rep, err := doctor.Run(cmd.Context(), doctor.Config{Grafana: opts, Datasource: f.conn.datasource, Match: probe,
		Source: doctor.Source{URL: src.url, User: src.user, Password: src.password, Token: src.token, Tenant: src.tenant}})
	if err != nil {
		return err
	}
	for i, row := range rep.Rows {
		if row.Err != nil {
			rep.Rows[i].Message = doctorWording.Text(row.Err)
		}
	}
	line := recommend(rep, &f.conn, src, f.match)
	if err := printDoctor(cmd.OutOrStdout(), f.format, rep, line); err != nil {
		return err
	}
	if rep.Best == "" {
		return &exitcode.Error{Code: exitcode.Failed, Msg: "no door returned samples: see the fix of each row above"}
	}
	return nil
}

// doctorWording is the flags' wording but where doctor's differs:
// --user, --password and --token are Grafana's alone there.
var doctorWording = func() extract.Wording {
	w := wording
	w.Formats = maps.Clone(flagWording)
	w.Formats[sourceWantsCredentials] = "%w: the source wants credentials: pass --source-user and --source-password (for Grafana Cloud the stack's instance ID and an access policy token) or --source-token"
	return w
}()

// doctorJSON is the report for scripts.
type doctorJSON struct {
	Rows        []doctorRow `json:"rows"`
	Best        doctor.Door `json:"best,omitempty"`
	Recommended string      `json:"recommended,omitempty"`
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	Selector    string      `json:"selector"`
}

// doctorRow is a row with its fix in words; fix_id stays the same across
// releases and wordings, for a script to act on.
type doctorRow struct {
	doctor.Row
	FixID doctor.Fix `json:"fix_id,omitempty"`
	Fix   string     `json:"fix,omitempty"`
}

func printDoctor(w io.Writer, format string, rep doctor.Report, line string) error {
	if format == "json" {
		out := doctorJSON{Best: rep.Best, Recommended: line, Selector: rep.Selector, From: time.UnixMilli(rep.From).UTC(), To: time.UnixMilli(rep.To).UTC()}
		for _, row := range rep.Rows {
			out.Rows = append(out.Rows, doctorRow{Row: row, FixID: row.Fix, Fix: doctorFixes[row.Fix]})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DOOR\tSTATE\tSTATUS\tMESSAGE")
	for _, row := range rep.Rows {
		status := "-"
		if row.Status != 0 {
			status = fmt.Sprint(row.Status)
		}
		// A server's message may span lines (a quoted page); a row is one.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.Door, row.State, status, strings.Join(strings.Fields(row.Message), " "))
		if row.Fix != "" {
			fmt.Fprintf(tw, "\t\t\tfix: %s\n", doctorFixes[row.Fix])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if line == "" {
		_, err := fmt.Fprintln(w, "\nNo door returned samples.")
		return err
	}
	_, err := fmt.Fprintf(w, "\nThe best door is %s. Recover through it with:\n  %s\n", rep.Best, line)
	return err
}

// recommend is the recover command line of the report's best door, ""
// when none returned samples. Values that are no secret are written out;
// each secret is its environment variable, which recover reads too, so
// the line can be pasted where the variable is set.
func recommend(rep doctor.Report, c *connFlags, f *sourceFlags, match []string) string {
	if rep.Best == "" {
		return ""
	}
	var words []string
	plain := func(args ...string) {
		for _, a := range args {
			words = append(words, shellquote.Quote(a))
		}
	}
	secret := func(flag string) { words = append(words, "--"+flag, `"$`+flagEnv[flag]+`"`) }
	plain("promrecover", "recover")
	switch rep.Best {
	case doctor.RemoteRead, doctor.Prometheus:
		plain("--via", string(rep.Best), "--source-url", f.url)
		if f.token != "" {
			secret("source-token")
		} else if f.user != "" {
			plain("--source-user", f.user)
			secret("source-password")
		}
		if f.tenant != "" {
			plain("--tenant", f.tenant)
		}
	default:
		plain("--grafana-url", c.url, "--datasource", rep.Datasource.UID)
		if rep.Best == doctor.Proxy {
			plain("--via", "proxy")
		}
		grafanaCredentials(c, plain, secret)
	}
	for _, m := range match {
		plain("--match", m)
	}
	plain("--from", "START", "--out", "DATA_DIR")
	return strings.Join(words, " ")
}

// grafanaCredentials adds the flags of the Grafana credentials given.
func grafanaCredentials(c *connFlags, plain func(...string), secret func(string)) {
	switch {
	case c.token != "":
		secret("token")
	case c.session != "":
		secret("session")
		if c.cookie != grafana.DefaultCookieName {
			plain("--cookie-name", c.cookie)
		}
	case c.user != "":
		plain("--user", c.user)
		secret("password")
	}
	if c.orgID != 0 {
		plain("--org-id", fmt.Sprint(c.orgID))
	}
}
