// Package shellquote writes command lines a user can paste into a POSIX
// shell: the commands promrecover prints to resume or finish a recovery
// carry selectors such as {job="node"} and label values with spaces.
package shellquote

import "strings"

// Join is args as one command line, each quoted where it must be.
func Join(args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = Quote(a)
	}
	return strings.Join(quoted, " ")
}

// safe are the characters a shell reads as themselves in a word.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/@%+="

// Quote is s as one word: as it is when no character in it is special, else
// in single quotes, inside which only the single quote itself needs care.
func Quote(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
