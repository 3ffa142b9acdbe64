package sentry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Caps applied while an event is decoded. What they cut, no tool would
// show: decoding it anyway cost hundreds of MB for an event of 100,000
// frames. The event is read token by token, so nothing beyond these caps
// is ever held.
const (
	// MaxFrames is how many frames of a stack trace are kept: the last
	// ones, nearest the crash. Stacktrace.FramesOmitted counts the rest.
	MaxFrames = 100
	// MaxValues caps an entry's "values" (breadcrumbs, exceptions of a
	// chain, threads): the last ones are kept, the most recent.
	// EntryValuesOmitted counts the rest.
	MaxValues = 100
	// maxArray caps any other array of an event (its first elements).
	maxArray = 1000
	// maxString caps a string of an event, in bytes.
	maxString = 32 << 10
	// maxDepth bounds nesting.
	maxDepth = 64
)

// Keys the pruning decoder adds to say what it dropped. A server cannot
// forge them: any such key in the response itself is dropped (an event
// that holds omittedPrefix anywhere is always decoded by the pruning
// decoder).
const (
	framesOmittedKey = "sentry-mcp:framesOmitted"
	valuesOmittedKey = "sentry-mcp:valuesOmitted"
	omittedPrefix    = "sentry-mcp:"
)

// smallEvent is the size up to which an event is decoded at once: the
// caps above bound what is kept of a large event; what a small one holds
// is bounded by its size, and the tools cap what they show.
const smallEvent = 256 << 10

// eventFields are the top-level members of an event the client decodes;
// the rest (_meta, packages, context, ...) is skipped unread.
var eventFields = map[string]bool{
	"id": true, "eventID": true, "groupID": true, "title": true, "message": true, "platform": true,
	"dateCreated": true, "culprit": true, "tags": true, "entries": true, "release": true,
	"projectID": true, "user": true, "sdk": true, "contexts": true,
}

// decodeEvent reads an event from r with the caps above and decodes what
// is left into out.
func decodeEvent(r io.Reader, out *Event) error {
	dec := json.NewDecoder(&squeezer{r: r})
	dec.UseNumber()
	if err := openObject(dec, "an event"); err != nil {
		return err
	}
	top, err := readEventMembers(dec)
	if err != nil {
		return err
	}
	return finishDecode(dec, top, out)
}

// decodeEventLookup reads an event-id lookup ({organizationSlug, ...,
// event}) from r: its event with the caps of decodeEvent, the rest with the
// generic caps.
func decodeEventLookup(r io.Reader, out *EventLookup) error {
	dec := json.NewDecoder(&squeezer{r: r})
	dec.UseNumber()
	if err := openObject(dec, "an event lookup"); err != nil {
		return err
	}
	top := map[string]any{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := k.(string)
		var v any
		if key == "event" {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			if tok != json.Delim('{') {
				return fmt.Errorf("an event is a JSON object, got %v", tok)
			}
			v, err = readEventMembers(dec)
			if err != nil {
				return err
			}
		} else if v, _, err = readValue(dec, key, 1, modeGeneric); err != nil {
			return err
		}
		top[key] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return err
	}
	return finishDecode(dec, top, out)
}

// openObject reads the opening brace of the top-level object.
func openObject(dec *json.Decoder, what string) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return errors.New("empty response")
	}
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%s is a JSON object, got %v", what, tok)
	}
	return nil
}

// readEventMembers reads an event's members after its opening brace, up
// to and including the closing one: eventFields with the caps, the rest
// skipped.
func readEventMembers(dec *json.Decoder) (map[string]any, error) {
	top := map[string]any{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := k.(string)
		if !eventFields[key] {
			if err := dec.Decode(&discard{}); err != nil {
				return nil, err
			}
			continue
		}
		v, _, err := readValue(dec, key, 1, modeEvent)
		if err != nil {
			return nil, err
		}
		top[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return top, nil
}

// finishDecode checks that nothing follows the top-level object, read up
// to its closing brace, and decodes top into out.
func finishDecode(dec *json.Decoder, top map[string]any, out any) error {
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid character after top-level value")
	}
	data, err := json.Marshal(top)
	if err != nil {
		return err
	}
	return decodeLenient(data, out)
}

// The decoder walks object members token by token, and reads array
// elements whole (one frame, one tag, one issue), which is much faster;
// only an element that turns out large is walked again, to cap it. The
// elements of entries and values (exceptions, threads, breadcrumbs) are
// walked too: they hold the stack traces.
var streamedElems = map[string]bool{"entries": true, "values": true}

// largeRaw is the size from which a value read whole is walked again.
const largeRaw = 64 << 10

// mode says which parts of a value are read token by token.
type mode int

const (
	// modeEvent also walks the elements of streamedElems and keeps the
	// last frames and values.
	modeEvent mode = iota
	// modeGeneric is for any other large answer.
	modeGeneric
	// modeWalk streams everything: the value is in memory already.
	modeWalk
)

// decodePruned decodes a large answer from r with the generic caps
// (arrays of at most maxArray elements, strings of maxString bytes,
// nesting of maxDepth) into out, never holding all of it.
func decodePruned(r io.Reader, out any) error {
	dec := json.NewDecoder(&squeezer{r: r})
	dec.UseNumber()
	v, _, err := readValue(dec, "", 0, modeGeneric)
	if err == io.EOF {
		return errors.New("empty response")
	}
	if err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid character after top-level value")
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return decodeLenient(data, out)
}

// readValue reads one value token by token. key is the member name it is
// the value of ("" in arrays); for arrays it also returns how many
// elements were dropped. m says which parts are streamed; inside a large
// value already in memory (modeWalk) everything is, as reading parts
// whole again would copy them once per level.
func readValue(dec *json.Decoder, key string, depth int, m mode) (any, int, error) {
	if depth > maxDepth {
		return nil, 0, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, 0, err
	}
	switch tok {
	case json.Delim('{'):
		obj := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, 0, err
			}
			name, _ := k.(string)
			if name == framesOmittedKey || name == valuesOmittedKey || len(obj) >= maxArray {
				if err := dec.Decode(&discard{}); err != nil {
					return nil, 0, err
				}
				continue
			}
			var (
				v       any
				dropped int
			)
			v, dropped, err = readValue(dec, name, depth+1, m)
			if err != nil {
				return nil, 0, err
			}
			obj[name] = v
			switch {
			case dropped > 0 && name == "frames":
				obj[framesOmittedKey] = dropped
			case dropped > 0 && name == "values":
				obj[valuesOmittedKey] = dropped
			}
		}
		_, err := dec.Token()
		return obj, 0, err
	case json.Delim('['):
		keep, last := maxArray, false
		switch {
		case m == modeGeneric:
		case key == "frames":
			keep, last = MaxFrames, true
		case key == "values":
			keep, last = MaxValues, true
		}
		var (
			ring  []any
			total int
		)
		for dec.More() {
			var (
				v   any
				err error
			)
			switch {
			case !last && len(ring) == keep: // beyond the cap: not kept
				err = dec.Decode(&discard{})
			case m == modeWalk || m == modeEvent && streamedElems[key]:
				v, _, err = readValue(dec, "", depth+1, m)
			default:
				v, err = readRaw(dec, depth+1)
			}
			if err != nil {
				return nil, 0, err
			}
			switch {
			case len(ring) < keep:
				ring = append(ring, v)
			case last:
				ring[total%keep] = v
			}
			total++
		}
		if _, err := dec.Token(); err != nil {
			return nil, 0, err
		}
		if last && total > keep { // rotate the ring into order
			i := total % keep
			ring = append(ring[i:], ring[:i]...)
		}
		if ring == nil {
			ring = []any{}
		}
		return ring, total - len(ring), nil
	case json.Delim('}'), json.Delim(']'):
		return nil, 0, fmt.Errorf("unexpected %v", tok)
	}
	if s, ok := tok.(string); ok && len(s) > maxString {
		cut := maxString
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		tok = s[:cut] + "…"
	}
	return tok, 0, nil
}

// readRaw reads one value whole; a large one is walked again with the caps.
func readRaw(dec *json.Decoder, depth int) (any, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	if len(raw) <= largeRaw {
		return raw, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	v, _, err := readValue(d, "", depth, modeWalk)
	return v, err
}

// discard is decoded into to read past a value: Decode scans it, nothing
// is kept.
type discard struct{}

func (*discard) UnmarshalJSON([]byte) error { return nil }

// squeezer turns every run of JSON whitespace outside strings into one
// space. json.Decoder does not consume whitespace while it looks for the
// next token, so megabytes of it (a gzip bomb of spaces) cost quadratic
// time and their size in memory; one space keeps tokens apart exactly as
// before.
type squeezer struct {
	r                io.Reader
	inString, escape bool
	space            bool // the last byte passed on was whitespace outside a string
}

func (s *squeezer) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		w := 0
		for _, c := range p[:n] {
			switch {
			case s.inString:
				switch {
				case s.escape:
					s.escape = false
				case c == '\\':
					s.escape = true
				case c == '"':
					s.inString = false
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				if s.space {
					continue
				}
				s.space = true
				c = ' '
			default:
				s.space = false
				s.inString = c == '"'
			}
			p[w] = c
			w++
		}
		if w > 0 || err != nil || n == 0 {
			return w, err
		}
	}
}
