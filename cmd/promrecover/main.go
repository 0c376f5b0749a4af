// Command promrecover gets lost Prometheus data back from Grafana: it reads
// the series through Grafana's HTTP API and writes native TSDB blocks into a
// Prometheus data directory, or exports them as JSON.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/alecthomas/units"
	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/extract"
	"github.com/promrecover/promrecover/internal/exitcode"
	"github.com/promrecover/promrecover/internal/flagalias"
	"github.com/promrecover/promrecover/internal/flagsuggest"
)

func main() {
	// The first Ctrl-C or SIGTERM stops taking new work and lets the run
	// save its state; a second one kills at once, as users expect.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := exitcode.Execute(ctx, newRoot(os.Stdout, os.Stderr), os.Stderr)
	stop()
	os.Exit(code)
}

// defaultMemoryLimit keeps promrecover next to a Prometheus on a small VM:
// the live heap of a recovery is the compressed samples of the windows in
// flight (about 130 MiB for 4 windows of 10,000 series scraped every 15s,
// peaking near 330 MiB while blocks are flushed and verified), and without a
// limit the garbage collector lets the heap grow to twice the live size.
const defaultMemoryLimit = "384MiB"

// setMemoryLimit applies --memory-limit as the Go runtime's soft memory
// limit, unless GOMEMLIMIT says otherwise. Above it the collector runs more
// often; it never fails an allocation.
func setMemoryLimit(v string) error {
	if os.Getenv("GOMEMLIMIT") != "" || v == "0" {
		return nil
	}
	n, err := units.ParseBase2Bytes(v)
	if err != nil || n <= 0 {
		return usagef("--memory-limit %q: give a size such as 384MiB or 1GiB, or 0 for no limit", v)
	}
	debug.SetMemoryLimit(int64(n))
	return nil
}

// flagAliases are promtool's, mimirtool's and vmctl's names for the same things.
var flagAliases = flagsuggest.Aliases{"": {"url": "grafana-url", "output": "out", "output-dir": "out", "out-dir": "out", "output-file": "out", "dir": "data", "data-dir": "data"}, "mimirtool": {"address": "grafana-url", "selector": "match"},
	"promtool": {"start": "from", "end": "to"}, "promtool tsdb dump": {"min-time": "from", "max-time": "to"},
	"vmctl": {"remote-read-src-addr": "grafana-url", "remote-read-filter-time-start": "from", "remote-read-filter-time-end": "to", "vm-native-filter-match": "match"},
}

// usagef is an error in what was asked (exit status 2).
var usagef = extract.Usagef

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "promrecover",
		Short: "Recover lost Prometheus data from Grafana into TSDB blocks",
		Long: `promrecover gets lost hours of Prometheus data back from the copy that
remote_write sent to Grafana Cloud (or any Grafana with a Prometheus datasource).
It reads the series through Grafana's HTTP API and writes native Prometheus TSDB
blocks into the local data directory, where Prometheus picks them up.

A recovery, step by step:
  promrecover demo          see it work against a built-in Grafana imitation
  promrecover datasources   find the uid of the Prometheus datasource
  promrecover gaps          see what the local Prometheus is missing
  promrecover plan          see what a recovery would fetch and cost
  promrecover recover       fetch the range and install the blocks
  promrecover verify        list the installed blocks, or compare them with an export

Credentials come from the environment (GRAFANA_TOKEN, GRAFANA_SESSION, or
GRAFANA_USER and GRAFANA_PASSWORD) or flags; every command's --help has examples.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(secrets.Writer(stdout))
	root.SetErr(secrets.Writer(stderr))
	var memLimit string
	root.PersistentFlags().StringVar(&memLimit, "memory-limit", defaultMemoryLimit, "soft limit of the Go heap (e.g. 384MiB, 1GiB; 0 for none); GOMEMLIMIT, when set, wins")
	configure := registerConfig(root)
	logger, showProgress := registerLogging(root, stderr)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		// The config file first: it may set --memory-limit.
		if err := configure(cmd); err != nil {
			return err
		}
		return setMemoryLimit(memLimit)
	}
	flagsuggest.Register(root, flagAliases)
	flagalias.Register(root, logger)
	root.AddCommand(
		newRecoverCmd(logger, showProgress),
		newExportCmd(logger, showProgress),
		newImportCmd(logger, showProgress),
		newVerifyCmd(logger),
		newPlanCmd(logger),
		newGapsCmd(logger),
		newDatasourcesCmd(logger),
		newDoctorCmd(logger),
		newDemoCmd(logger, showProgress),
	)
	addVersion(root)
	addCompletions(root, configure)
	// Every error a command returns leaves through here, so here the
	// libraries' errors get their flag names (errors.go).
	for _, c := range append(root.Commands(), root) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return secrets.Err(exitcode.Coded(forUser(run(cmd, args))))
			}
		}
	}
	return root
}
