package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promrecover/promrecover/internal/faults"
	"github.com/promrecover/promrecover/internal/gen"
	"github.com/promrecover/promrecover/internal/sim"
	"github.com/promrecover/promrecover/internal/simtest"
)

var (
	snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	// A number in a string: 12, 8.9 MiB, 1176179/s, 3/12, 12s.
	numberText = regexp.MustCompile(`^[-+]?\d+(\.\d+)?( ?[a-zA-Z]{1,4}|/s|/\d+)?$`)
)

// needsUnit are keys of quantities, which JSON gives with the unit in the
// key (received_bytes).
var needsUnit = map[string]bool{"elapsed": true, "eta": true, "rate": true, "received": true, "read": true, "retention": true, "in": true}

// checkJSONValue fails on a key that is not snake_case, on a number written
// as a string and on a quantity without its unit, in v and the objects it
// holds.
func checkJSONValue(t *testing.T, line, key string, v any) {
	t.Helper()
	switch v := v.(type) {
	case map[string]any:
		for k, inner := range v {
			if !snakeCase.MatchString(k) {
				t.Errorf("key %q is not snake_case: %s", k, line)
			}
			checkJSONValue(t, line, k, inner)
		}
	case []any:
		for _, inner := range v {
			checkJSONValue(t, line, key, inner)
		}
	case float64:
		if needsUnit[key] {
			t.Errorf("%s = %v is a quantity without its unit in the key: %s", key, v, line)
		}
	case string:
		if _, err := time.ParseDuration(v); err == nil || numberText.MatchString(v) || strings.Contains(v, " of ") && numberText.MatchString(strings.Fields(v)[0]) {
			t.Errorf("%s = %q is a number written as a string: %s", key, v, line)
		}
	}
}

// Every record of JSON logs is for a program: snake_case keys, and numbers
// as numbers with the unit in the key. The runs log what they can: a
// recover with a window refused and a request retried (warnings), at -v,
// resumed; an export; an import.
func TestJSONLogRecords(t *testing.T) {
	data := gen.DemoSeries(dataStart, dataEnd, 1)
	from, to := dataStart.Add(2*time.Hour), dataStart.Add(8*time.Hour)
	refused := failWindow(strconv.FormatInt(dataStart.Add(6*time.Hour).UnixMilli(), 10))
	// The retried request is another window's: a rule sees every request
	// it matches, so a First(1) on any query would be spent whenever the
	// refused window's request came first.
	firstEnd := `"to":"` + strconv.FormatInt(dataStart.Add(4*time.Hour).UnixMilli(), 10) + `"`
	retried := faults.On(faults.Query, faults.BodyContains(firstEnd)).First(1).Do(faults.Answer(http.StatusServiceUnavailable, "unavailable"))
	url, _ := simtest.Start(t, sim.Config{Series: data, Tokens: []string{testToken}}, refused, retried)
	out, dir := t.TempDir(), t.TempDir()
	exported := filepath.Join(dir, "export.jsonl")
	query := []string{"--grafana-url", url, "--token", testToken, "--datasource", "grafanacloud-prom",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--log-format", "json", "--progress-interval", "50ms"}
	recoverArgs := append([]string{"recover", "--out", out, "-v", "--retention", "1h"}, query...)
	runs := []struct {
		name string
		args []string
		stop *faults.Rule // stopped before the run
	}{
		{"recover, a window refused", recoverArgs, nil},
		{"recover, resumed", recoverArgs, refused},
		{"export", append([]string{"export", "--format", "jsonl", "-o", exported}, query...), nil},
		{"import", []string{"import", exported, "--out", t.TempDir(), "--log-format", "json", "--progress-interval", "50ms"}, nil},
	}
	seen := map[string]bool{}
	for _, r := range runs {
		if r.stop != nil {
			r.stop.Stop()
		}
		_, stderr, _ := runCLI(t, r.args...)
		for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s: not a JSON record: %q", r.name, line)
				continue
			}
			seen[rec["level"].(string)+" "+rec["msg"].(string)] = true
			checkJSONValue(t, line, "", rec)
		}
	}
	// The records that hold quantities and the keys that had spaces.
	for _, want := range []string{"INFO progress", "WARN retrying", "WARN window not recovered", "INFO recovering", "INFO installed"} {
		if !seen[want] {
			t.Errorf("no %q record among %v", want, seen)
		}
	}
}
