package main

import (
	"embed"
	"strings"
)

// The commands' examples are shell, kept as shell files beside the code:
// they read as what a user types, and TestExamplesAreShell has a shell parse
// every one of them (help_test.go checks their flags and that they hold no
// secret).
//
//go:embed examples/*.sh
var examples embed.FS

// example is the Example text of the command called name.
func example(name string) string {
	b, err := examples.ReadFile("examples/" + name + ".sh")
	if err != nil {
		panic("no example for " + name + ": " + err.Error()) // the embed is fixed at build time
	}
	return strings.TrimRight(string(b), "\n")
}
