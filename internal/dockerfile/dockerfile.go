// Package dockerfile reads a Dockerfile's instructions, as the checks of
// deploy/Dockerfile need them (internal/cli's deploy test, packaging/oci):
// continuation lines joined, comments dropped, the stages split at FROM, and
// the ARGs declared before the first FROM substituted into FROM lines. It
// interprets no instruction beyond that; the helpers split the forms the
// checks read (the JSON exec form, ENV and LABEL pairs).
package dockerfile

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// File is a Dockerfile's stages, in order.
type File struct{ Stages []*Stage }

// Stage is one FROM and the instructions after it.
type Stage struct {
	From     string // the image, ARGs substituted
	Platform string // FROM --platform=..., as written
	Instr    []Instruction
}

// Instruction is one instruction: its keyword in upper case and the rest.
type Instruction struct{ Keyword, Args string }

// Parse reads text.
func Parse(text string) *File {
	var lines []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if cur == "" && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur += strings.TrimSuffix(t, "\\") + " "
			continue
		}
		lines = append(lines, cur+t)
		cur = ""
	}
	f := &File{}
	globals := map[string]string{}
	for _, l := range lines {
		kw, rest, _ := strings.Cut(l, " ")
		kw, rest = strings.ToUpper(kw), strings.TrimSpace(rest)
		switch {
		case kw == "ARG" && len(f.Stages) == 0:
			k, v, _ := strings.Cut(rest, "=")
			globals[k] = v
		case kw == "FROM":
			st := &Stage{}
			for _, field := range strings.Fields(rest) {
				if p, ok := strings.CutPrefix(field, "--platform="); ok {
					st.Platform = p
					continue
				}
				st.From = os.Expand(field, func(k string) string { return globals[k] })
				break
			}
			f.Stages = append(f.Stages, st)
		case len(f.Stages) > 0:
			st := f.Stages[len(f.Stages)-1]
			st.Instr = append(st.Instr, Instruction{kw, rest})
		}
	}
	return f
}

// Final is the last stage, or nil.
func (f *File) Final() *Stage {
	if len(f.Stages) == 0 {
		return nil
	}
	return f.Stages[len(f.Stages)-1]
}

// All is the arguments of every kw instruction of the stage.
func (s *Stage) All(kw string) []string {
	var out []string
	for _, in := range s.Instr {
		if in.Keyword == kw {
			out = append(out, in.Args)
		}
	}
	return out
}

// Last is the arguments of the stage's last kw instruction ("" if none).
func (s *Stage) Last(kw string) string {
	all := s.All(kw)
	if len(all) == 0 {
		return ""
	}
	return all[len(all)-1]
}

// Env is the stage's ENV KEY=VALUE pairs.
func (s *Stage) Env() map[string]string {
	m := map[string]string{}
	for _, e := range s.All("ENV") {
		for _, kv := range strings.Fields(e) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
	}
	return m
}

// JSONArgs reads the exec (JSON array) form of CMD, ENTRYPOINT and the like.
func JSONArgs(s string) ([]string, error) {
	var a []string
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return nil, fmt.Errorf("%q is not the JSON (exec) form: %v", s, err)
	}
	return a, nil
}

// Labels splits a LABEL's key=value pairs; a value may be double-quoted.
func Labels(args string) (map[string]string, error) {
	out := map[string]string{}
	for rest := strings.TrimSpace(args); rest != ""; rest = strings.TrimSpace(rest) {
		k, after, ok := strings.Cut(rest, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"") {
			return nil, fmt.Errorf("LABEL %s: want key=value pairs", rest)
		}
		var v string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				return nil, fmt.Errorf("LABEL %s: unterminated quote", rest)
			}
			v, rest = after[1:end+1], after[end+2:]
		} else {
			v, rest, _ = strings.Cut(after, " ")
		}
		out[k] = v
	}
	return out, nil
}
