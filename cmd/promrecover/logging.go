package main

import (
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/promrecover/promrecover/internal/logattr"
	"github.com/promrecover/promrecover/internal/redact"
	"github.com/promrecover/promrecover/progress"
)

var secrets redact.Set // the credentials given or rotated to, kept out of all the process prints

// progressFunc starts showing a run's progress on stderr, as the global flags
// say; the caller wraps its sink with the Run and stops it before printing
// its result.
type progressFunc func(*slog.Logger, progress.Options) *progress.Run

// registerLogging adds the flags that shape stderr and returns what commands
// log with and show progress with. Both read the flags when called, after
// the command line and the config file have set them.
func registerLogging(root *cobra.Command, stderr io.Writer) (func() *slog.Logger, progressFunc) {
	var (
		verbose, quiet bool
		format         = logFormat("text")
		every          time.Duration
	)
	fs := root.PersistentFlags()
	fs.BoolVarP(&verbose, "verbose", "v", false, "log every window and request decision")
	fs.BoolVarP(&quiet, "quiet", "q", false, "show no progress and log only warnings and errors on stderr; stdout is unchanged")
	fs.Var(&format, "log-format", "format of the log records on stderr (json: one object a line)")
	fs.DurationVar(&every, "progress-interval", progress.DefaultEvery, "when stderr is not a terminal, how often a progress record is logged")
	// For tests, which must not wait seconds for a record.
	_ = fs.MarkHidden("progress-interval")
	root.MarkFlagsMutuallyExclusive("verbose", "quiet")

	console := progress.NewConsole(stderr)
	logger := func() *slog.Logger {
		o := &slog.HandlerOptions{Level: slog.LevelInfo, ReplaceAttr: userAttr}
		switch {
		case verbose:
			o.Level = slog.LevelDebug
		case quiet:
			o.Level = slog.LevelWarn
		}
		if format == "json" {
			return slog.New(secrets.Handler(slog.NewJSONHandler(secrets.Writer(console), logattr.JSON(o))))
		}
		return slog.New(secrets.Handler(slog.NewTextHandler(secrets.Writer(console), logattr.Text(o))))
	}
	show := func(log *slog.Logger, o progress.Options) *progress.Run {
		o.Every, o.Hide = every, quiet
		return console.Start(log, o)
	}
	return logger, show
}

// logFormat is --log-format, checked as it is set, whether by the command
// line or by the config file.
type logFormat string

func (f *logFormat) String() string { return string(*f) }
func (f *logFormat) Type() string   { return "text|json" }

func (f *logFormat) Set(v string) error {
	if v != "text" && v != "json" {
		return errors.New("use text or json")
	}
	*f = logFormat(v)
	return nil
}
