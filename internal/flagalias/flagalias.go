// Package flagalias keeps a renamed flag's old spelling working for a
// release: the old name of a flag, or a positional argument that became a
// flag, is accepted, hidden from --help, and its use is noted with the new
// spelling, whether it came from the command line or a config file.
package flagalias

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Annotations of the flags involved: targetKey on an old name holds the
// flag's new name; noteKey on a flag set from a positional argument holds
// the note to log.
const (
	targetKey = "flagalias_target"
	noteKey   = "flagalias_note"
)

// Rename adds old to fs as a hidden spelling of the flag called name, which
// must be defined already; it sets the same value.
func Rename(fs *pflag.FlagSet, old, name string) {
	f := fs.Lookup(name)
	fs.AddFlag(&pflag.Flag{Name: old, Value: f.Value, DefValue: f.DefValue, Usage: "old name of --" + name, Hidden: true,
		Annotations: map[string][]string{targetKey: {name}}})
}

// Target is the flag that f, a flag of fs, sets: the flag it is an old name
// of, or f itself.
func Target(fs *pflag.FlagSet, f *pflag.Flag) *pflag.Flag {
	if t := f.Annotations[targetKey]; len(t) == 1 {
		return fs.Lookup(t[0])
	}
	return f
}

// Given says whether the flag that f, a flag of fs, sets was given under
// any of its names.
func Given(fs *pflag.FlagSet, f *pflag.Flag) bool {
	t, given := Target(fs, f), false
	fs.VisitAll(func(g *pflag.Flag) { given = given || (g.Changed && Target(fs, g) == t) })
	return given
}

// Arg accepts the command's only positional argument, metavar (e.g. DIR),
// as the value of flag, which it used to be; what says what it is.
func Arg(flag, metavar, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) > 1:
			return fmt.Errorf("%s takes no argument but %s, which is now --%s %s; %d were given: %s %s",
				cmd.Name(), what, flag, metavar, len(args), cmd.Root().Name(), cmd.Use)
		case len(args) == 0:
			return nil
		case cmd.Flags().Changed(flag):
			return fmt.Errorf("%s takes %s once: give --%s %s alone", cmd.Name(), what, flag, metavar)
		}
		if err := cmd.Flags().Set(flag, args[0]); err != nil {
			return err
		}
		note := fmt.Sprintf("%[1]s %[2]s is now %[1]s --%[3]s %[2]s; %[2]s as an argument will be removed in a later release", cmd.Name(), metavar, flag)
		return cmd.Flags().SetAnnotation(flag, noteKey, []string{note})
	}
}

// Register makes every command of root check the old names given on its
// command line before root's PersistentPreRunE, which may apply a config
// file, and log the old spellings used after it, when the log is set up.
// A flag given under both names is refused; one given under its old name
// counts as given, so that a config file does not override it.
func Register(root *cobra.Command, log func() *slog.Logger) {
	pre := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if err := resolve(cmd.Flags()); err != nil {
			return err
		}
		if pre != nil {
			if err := pre(cmd, args); err != nil {
				return err
			}
		}
		for _, note := range Notes(cmd.Flags()) {
			log().Warn(note)
		}
		return nil
	}
}

// resolve refuses a flag given under its new and its old name, and marks
// one given under its old name as changed.
func resolve(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if t := Target(fs, f); t != f && f.Changed {
			if t.Changed && err == nil {
				err = fmt.Errorf("--%s and --%s (its old name) contradict each other: give --%s", t.Name, f.Name, t.Name)
			}
			t.Changed = true
		}
	})
	return err
}

// Notes are the old spellings used in fs, each as a sentence that names
// the new one.
func Notes(fs *pflag.FlagSet) []string {
	var notes []string
	fs.VisitAll(func(f *pflag.Flag) {
		if t := Target(fs, f); t != f && f.Changed {
			notes = append(notes, fmt.Sprintf("--%[1]s is now --%[2]s; --%[1]s will be removed in a later release", f.Name, t.Name))
		}
		notes = append(notes, f.Annotations[noteKey]...)
	})
	return notes
}
