// Package flagsuggest words a cobra program's command-line mistakes as what
// to type instead: an unknown flag gets the flag that was likely meant, found
// by another tool's name for it or by spelling, flags marked mutually
// exclusive get a sentence instead of cobra's group notation, and a missing
// or extra argument gets what the argument is.
package flagsuggest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/promrecover/promrecover/internal/suggest"
)

// Aliases are other tools' names for the program's flags, by tool (""
// for no tool in particular), each name with the flag it means: people paste
// command lines from those tools' runbooks, and the edit distance would
// point elsewhere (--start is closer to --state than to --from).
type Aliases map[string]map[string]string

// lookup is the flag name means and the tools that call it so.
func (a Aliases) lookup(name string) (flag string, tools []string) {
	for _, tool := range slices.Sorted(maps.Keys(a)) {
		if f, ok := a[tool][name]; ok && (flag == "" || f == flag) {
			flag = f
			if tool != "" {
				tools = append(tools, tool)
			}
		}
	}
	return flag, tools
}

// exclusiveAnnotation is where cobra's MarkFlagsMutuallyExclusive keeps a
// flag's groups; a test fails if cobra moves it.
const exclusiveAnnotation = "cobra_annotation_mutually_exclusive"

// Register makes every command of root word its flag errors: unknown flags
// through root's flag error function, which subcommands inherit, and
// contradicting flags before root's PersistentPreRunE, which is wrapped, so
// Register comes after it is set. Cobra checks its groups only after that
// hook, too late for a sentence of ours to replace its text.
func Register(root *cobra.Command, aliases Aliases) {
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return Unknown(cmd.Flags(), err, aliases) })
	pre := root.PersistentPreRunE
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if pre != nil {
			if err := pre(cmd, args); err != nil {
				return err
			}
		}
		return Contradictions(cmd.Flags())
	}
}

// Unknown words err, an error from parsing fs, with the flag its unknown
// flag likely meant; other errors are returned as they are. A group of
// shorthands (-start, as Go's flag package and vmctl spell long flags) is
// read as a long name only when that name is a flag or an alias.
func Unknown(fs *pflag.FlagSet, err error, aliases Aliases) error {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) {
		return err
	}
	typed, name := "--"+ne.GetSpecifiedName(), ne.GetSpecifiedName()
	if group := ne.GetSpecifiedShortnames(); group != "" {
		typed, name = "-"+group, group
		if f, _ := aliases.lookup(name); f == "" && fs.Lookup(name) == nil {
			return err
		}
	}
	if f, tools := aliases.lookup(name); f != "" && fs.Lookup(f) != nil {
		switch len(tools) {
		case 0:
			return fmt.Errorf("unknown flag %s: did you mean --%s?", typed, f)
		case 1:
			return fmt.Errorf("unknown flag %s: did you mean --%s? (%s calls it --%s)", typed, f, tools[0], name)
		}
		return fmt.Errorf("unknown flag %s: did you mean --%s? (%s call it --%s)", typed, f, and(tools), name)
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			names = append(names, f.Name)
		}
	})
	if best := suggest.Closest(name, names); best != "" {
		return fmt.Errorf("unknown flag %s: did you mean --%s?", typed, best)
	}
	return err
}

// Contradictions is the first group of fs's mutually exclusive flags of
// which more than one is set, as a sentence that says what to do.
func Contradictions(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		for _, group := range f.Annotations[exclusiveAnnotation] {
			var set []string
			for _, name := range strings.Fields(group) {
				if g := fs.Lookup(name); g != nil && g.Changed {
					set = append(set, "--"+name)
				}
			}
			if len(set) > 1 && err == nil {
				slices.Sort(set)
				err = fmt.Errorf("%s contradict each other: give one", and(set))
			}
		}
	})
	return err
}

// and lists names as a sentence does: "a, b and c".
func and(names []string) string {
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// OneArg is cobra.ExactArgs(1) with a message that says what the argument
// is and how the command is written, instead of "accepts 1 arg(s), received 0".
func OneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("%s takes one argument, %s; %d were given: %s %s", cmd.Name(), what, len(args), cmd.Root().Name(), cmd.Use)
		}
		return nil
	}
}
